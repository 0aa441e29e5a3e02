import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvictionOrder } from '../../src/produce/idempotency/eviction-order';
import { KeyTable } from '../../src/produce/idempotency/key-table';

/** A key table, as the key store keeps its keys (ids: one per key here), and its eviction order. */
function table(bound: number) {
  const keys = new KeyTable<number>();
  const order = new EvictionOrder((handle) => keys.serial(handle), bound);
  const idOf = (key: string) => 2 ** 52 + Number(key.replace(/\D/g, '') || key.charCodeAt(0));
  const add = (key: string) => {
    const handle = keys.add(key, idOf(key), 0);
    order.add(handle, keys.serial(handle));
  };
  const remove = (key: string) => keys.remove(keys.find(key, idOf(key)));
  const next = () => {
    const handle = order.next();
    return handle === -1 ? undefined : keys.key(handle);
  };
  return { keys, order, add, remove, next };
}

test('eviction order: oldest live key first; a removed key is skipped, one created again (under a reused handle) is taken at its new place', () => {
  const { add, remove, next } = table(10);
  add('a');
  add('b');
  add('c');
  remove('a');
  remove('b');
  add('b');
  assert.equal(next(), 'c');
  assert.equal(next(), 'b');
  assert.equal(next(), undefined);
});

test('eviction order: keys removed otherwise than by eviction do not pile up past the bound; the live ones keep their order', () => {
  const { order, add, remove, next } = table(100);
  for (let i = 0; i < 10_000; i++) {
    add(`k${i}`);
    if (i >= 50) remove(`k${i - 50}`); // expired or released: never taken by next()
  }
  assert.ok(order.size <= 2 * 100 + 1024, `${order.size} places`);
  const taken: string[] = [];
  for (let key = next(); key !== undefined; key = next()) taken.push(key);
  assert.deepEqual(taken, Array.from({ length: 50 }, (_, n) => `k${9950 + n}`));
});

test('eviction order: peek leaves the oldest live key in place', () => {
  const { keys, order, add, remove } = table(10);
  add('a');
  add('b');
  remove('a');
  assert.equal(keys.key(order.peek()), 'b');
  assert.equal(keys.key(order.next()), 'b');
  assert.equal(order.peek(), -1);
});
