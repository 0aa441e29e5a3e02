import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTable } from '../../src/produce/idempotency/key-table';

const ID = 2 ** 52 + 12345;

test('key table: keys with the same id are told apart by the key, whichever of them goes first', () => {
  const table = new KeyTable<string>();
  const a = table.add('a', ID, 'A');
  assert.equal(table.find('b', ID), -1, 'another key with the held id is not found');
  const b = table.add('b', ID, 'B');
  const c = table.add('c', ID, 'C');
  assert.equal(table.size, 3);
  assert.deepEqual([table.value(table.find('a', ID)), table.value(table.find('b', ID)), table.value(table.find('c', ID))], ['A', 'B', 'C']);
  table.remove(a);
  assert.equal(table.find('a', ID), -1);
  assert.equal(table.find('b', ID), b, 'a key added while another held its id outlives that one');
  const again = table.add('a', ID, 'A2');
  assert.equal(table.value(table.find('a', ID)), 'A2');
  table.remove(b);
  table.remove(c);
  assert.equal(table.find('b', ID), -1);
  assert.equal(table.find('c', ID), -1);
  assert.equal(table.find('a', ID), again);
  assert.equal(table.size, 1);
});

test('key table: a removed key frees its handle for the next key, under a new serial', () => {
  const table = new KeyTable<number>();
  const held = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const key = `k${i}`;
    held.set(key, table.add(key, 2 ** 52 + (i % 300), i)); // many ids shared by several keys
    if (i % 3 === 0) {
      const old = `k${i >> 1}`;
      const handle = held.get(old);
      if (handle !== undefined) {
        const serial = table.serial(handle);
        table.remove(handle);
        held.delete(old);
        assert.equal(table.serial(handle), -1);
        const reused = table.add(`new${i}`, 2 ** 52 + 7, -1);
        assert.equal(reused, handle, 'the freed handle is taken first');
        assert.ok(table.serial(reused) > serial);
        table.remove(reused);
      }
    }
  }
  assert.equal(table.size, held.size);
  for (const [key, handle] of held) assert.equal(table.find(key, 2 ** 52 + (Number(key.slice(1)) % 300)), handle, key);
  assert.deepEqual([...table.handles()].sort((x, y) => x - y), [...held.values()].sort((x, y) => x - y));
});
