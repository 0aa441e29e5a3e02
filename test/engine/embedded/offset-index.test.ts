import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OffsetIndex } from '../../../src/engine/embedded/offset-index';
import { tempDir } from './helpers';

const BASE = 1000;

function sample(file: string): OffsetIndex {
  const index = new OffsetIndex(file, BASE, 1024);
  // (last offset of a batch, its file position)
  for (const [offset, position] of [
    [1004, 0],
    [1010, 300],
    [1020, 700],
    [1035, 1200],
  ]) {
    index.append(offset, position);
  }
  return index;
}

test('offset index lookup: exact, between entries, before the first, after the last', (t) => {
  const index = sample(join(tempDir(t), 'x.index'));
  assert.deepEqual(index.lookup(1010), { offset: 1010, position: 300 });
  assert.deepEqual(index.lookup(1015), { offset: 1010, position: 300 });
  assert.deepEqual(index.lookup(1019), { offset: 1010, position: 300 });
  assert.deepEqual(index.lookup(1003), { offset: BASE, position: 0 });
  assert.deepEqual(index.lookup(BASE), { offset: BASE, position: 0 });
  assert.deepEqual(index.lookup(1004), { offset: 1004, position: 0 });
  assert.deepEqual(index.lookup(5000), { offset: 1035, position: 1200 });
  assert.deepEqual(index.lastEntry(), { offset: 1035, position: 1200 });
});

test('offset index truncation drops entries at and after an offset or position', (t) => {
  const index = sample(join(tempDir(t), 'x.index'));
  index.truncateTo(1020);
  assert.equal(index.entryCount, 2);
  assert.deepEqual(index.lookup(1030), { offset: 1010, position: 300 });
  const other = sample(join(tempDir(t), 'y.index'));
  other.truncateToPosition(700);
  assert.deepEqual(other.lastEntry(), { offset: 1010, position: 300 });
});

test('offset index persists 8-byte entries and loads them back; a bad file is refused', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'x.index');
  const index = sample(file);
  await index.persist(true);
  assert.equal(statSync(file).size, 4 * 8);
  index.append(1040, 1500);
  await index.persist(false);
  assert.equal(statSync(file).size, 5 * 8);

  const loaded = new OffsetIndex(file, BASE, 1024);
  assert.equal(await loaded.load(), true);
  assert.equal(loaded.entryCount, 5);
  assert.deepEqual(loaded.lookup(1039), { offset: 1035, position: 1200 });

  // After truncation the file is cut on the next persist.
  loaded.truncateTo(1011);
  await loaded.persist(false);
  assert.equal(statSync(file).size, 2 * 8);

  writeFileSync(file, Buffer.alloc(13)); // not a whole number of entries
  assert.equal(await new OffsetIndex(file, BASE, 1024).load(), false);
  const unsorted = Buffer.alloc(16);
  unsorted.writeInt32BE(9, 0);
  unsorted.writeInt32BE(100, 4);
  unsorted.writeInt32BE(3, 8);
  unsorted.writeInt32BE(200, 12);
  writeFileSync(file, unsorted);
  assert.equal(await new OffsetIndex(file, BASE, 1024).load(), false);
  assert.equal(await new OffsetIndex(join(dir, 'absent.index'), BASE, 1024).load(), false);
});

test('offset index is full at segment.index.bytes / 8 entries', (t) => {
  const index = new OffsetIndex(join(tempDir(t), 'x.index'), 0, 8 * 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(index.isFull(), false);
    index.append(i * 10, i * 100);
  }
  assert.equal(index.isFull(), true);
});
