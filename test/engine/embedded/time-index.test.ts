import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TimeIndex } from '../../../src/engine/embedded/time-index';
import { tempDir } from './helpers';

const BASE = 500;
const T = 1_700_000_000_000;

function sample(file: string): TimeIndex {
  const index = new TimeIndex(file, BASE, 1200);
  index.maybeAppend(T + 10, 505);
  index.maybeAppend(T + 20, 512);
  index.maybeAppend(T + 20, 515); // not larger: skipped
  index.maybeAppend(T + 15, 516); // older: skipped
  index.maybeAppend(T + 40, 530);
  return index;
}

test('time index lookupBefore: exact, between entries, before the first, after the last', (t) => {
  const index = sample(join(tempDir(t), 'x.timeindex'));
  assert.equal(index.entryCount, 3);
  // Strictly before: an entry with exactly the timestamp could hide an earlier equal record.
  assert.deepEqual(index.lookupBefore(T + 20), { timestamp: T + 10, offset: 505 });
  assert.deepEqual(index.lookupBefore(T + 21), { timestamp: T + 20, offset: 512 });
  assert.deepEqual(index.lookupBefore(T + 39), { timestamp: T + 20, offset: 512 });
  assert.deepEqual(index.lookupBefore(T + 10), { timestamp: -1, offset: BASE });
  assert.deepEqual(index.lookupBefore(T), { timestamp: -1, offset: BASE });
  assert.deepEqual(index.lookupBefore(T + 1_000_000), { timestamp: T + 40, offset: 530 });
  assert.deepEqual(index.lastEntry(), { timestamp: T + 40, offset: 530 });
});

test('time index keeps 8-byte timestamps exact, persists 12-byte entries and truncates by offset', async (t) => {
  const file = join(tempDir(t), 'x.timeindex');
  const index = sample(file);
  index.maybeAppend(2 ** 52 + 7, 531);
  await index.persist(true);
  assert.equal(statSync(file).size, 4 * 12);
  const loaded = new TimeIndex(file, BASE, 1200);
  assert.equal(await loaded.load(), true);
  assert.deepEqual(loaded.lastEntry(), { timestamp: 2 ** 52 + 7, offset: 531 });
  loaded.truncateTo(512);
  assert.deepEqual(loaded.lastEntry(), { timestamp: T + 10, offset: 505 });
  await loaded.persist(false);
  assert.equal(statSync(file).size, 12);
});
