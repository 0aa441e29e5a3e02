import type { TestContext } from 'node:test';

/**
 * Teardown in the reverse order of setup. node:test runs a test's `after` hooks in the order they
 * were added, so a client added after the cluster it talks to would be closed after that cluster
 * has stopped, and a client closed against stopped brokers may keep reconnecting and hold the test
 * file's process open. Every step runs even when an earlier one throws; the first error is thrown.
 */
const stacks = new WeakMap<TestContext, Array<() => unknown>>();

export function onTeardown(t: TestContext, step: () => unknown): void {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const steps: Array<() => unknown> = [];
    stacks.set(t, steps);
    t.after(async () => {
      let first: unknown;
      for (let next = steps.pop(); next !== undefined; next = steps.pop()) {
        try {
          await next();
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) throw first;
    });
    stack = steps;
  }
  stack.push(step);
}
