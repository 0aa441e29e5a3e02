import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rec, startEngine, tempDir } from './helpers';

/** Resolves with `promise`, or rejects once `ms` have passed without it (a bound, not a timing claim). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

test('a data listener that throws stops neither the log writer\'s drain nor the other listeners', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'l', partitions: 1 });
  const log = engine.partitionLog('l', 0)!;
  let heard = 0;
  const offThrowing = log.onData(() => {
    throw new Error('a listener bug');
  });
  const offCounting = log.onData(() => heard++);
  t.after(() => {
    offThrowing();
    offCounting();
  });

  const first = await within(engine.append('l', 0, [rec('a')], { acks: 1 }), 5_000, 'the append whose write woke the listeners');
  assert.equal(first.baseOffset, 0);
  assert.ok(heard >= 1, 'the listener after the throwing one heard the append');
  const second = await within(engine.append('l', 0, [rec('b')], { acks: -1 }), 5_000, 'the next append');
  assert.equal(second.baseOffset, 1);
  assert.equal(log.highWatermark, 2);
});
