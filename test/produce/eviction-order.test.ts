import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvictionOrder } from '../../src/produce/idempotency/eviction-order';

/** A table of key -> creation time in a Map, as the key store keeps its keys, and its eviction order. */
function table(bound: number) {
  const keys = new Map<string, number>();
  const order = new EvictionOrder((key) => keys.get(key), () => keys.keys(), bound);
  const add = (key: string, createdAt: number) => {
    keys.set(key, createdAt);
    order.add(key, createdAt);
  };
  return { keys, order, add };
}

test('eviction order: oldest live key first; a removed key is skipped, one created again is taken at its new place', () => {
  const { keys, order, add } = table(10);
  add('a', 1);
  add('b', 2);
  add('c', 3);
  keys.delete('a');
  keys.delete('b');
  add('b', 4);
  assert.equal(order.next(), 'c');
  assert.equal(order.next(), 'b');
  assert.equal(order.next(), undefined);
});

test('eviction order: keys removed otherwise than by eviction do not pile up past the bound; the live ones keep their order', () => {
  const { keys, order, add } = table(100);
  for (let i = 0; i < 10_000; i++) {
    add(`k${i}`, i);
    if (i >= 50) keys.delete(`k${i - 50}`); // expired or released: never taken by next()
  }
  assert.ok(order.size <= 2 * 100 + 1024, `${order.size} places`);
  const taken: string[] = [];
  for (let key = order.next(); key !== undefined; key = order.next()) taken.push(key);
  assert.deepEqual(taken, Array.from({ length: 50 }, (_, n) => `k${9950 + n}`));
});
