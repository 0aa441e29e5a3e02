import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { IdempotencyJournal } from '../../src/produce/idempotency/idempotency-journal';
import { ManualClock, tempDir } from '../engine/embedded/helpers';

const HOUR = 3_600_000;

function journal(dir: string, clock: ManualClock, over: Partial<ConstructorParameters<typeof IdempotencyJournal>[1]> = {}) {
  return new IdempotencyJournal(dir, { ttlMs: 24 * HOUR, segmentBytes: 1 << 20, segmentMs: 6 * HOUR, maxBytes: 1 << 30, now: clock.now, ...over });
}

const texts = (payloads: Buffer[]) => payloads.map((p) => p.toString());

test('journal: records come back in order after a reopen; a torn or corrupt tail is cut and writing goes on', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let j = journal(dir, clock);
  assert.deepEqual(j.open(), []);
  j.append([Buffer.from('a'), Buffer.from('bb')]);
  j.append([Buffer.from('ccc')]);
  await j.sync();
  await j.close();
  const [file] = readdirSync(dir);
  const whole = statSync(join(dir, file)).size;
  appendFileSync(join(dir, file), Buffer.from([0, 0, 0, 9, 1, 2, 3])); // a frame cut short
  j = journal(dir, clock);
  assert.deepEqual(texts(j.open()), ['a', 'bb', 'ccc']);
  assert.equal(statSync(join(dir, file)).size, whole, 'the torn frame is gone');
  j.append([Buffer.from('dddd')]);
  await j.close();
  truncateSync(join(dir, file), whole + 8 + 2); // the last frame torn
  j = journal(dir, clock);
  assert.deepEqual(texts(j.open()), ['a', 'bb', 'ccc']);
  await j.close();
  appendFileSync(join(dir, file), Buffer.from([0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0x41])); // bad CRC
  j = journal(dir, clock);
  assert.deepEqual(texts(j.open()), ['a', 'bb', 'ccc']);
  await j.close();
});

test('journal: segments roll by size and age; old ones go by age and by total size; syncs span rolls', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let j = journal(dir, clock, { segmentBytes: 100, maxBytes: 1 << 30 });
  j.open();
  const syncs: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    j.append([Buffer.from(`record-${i}`.padEnd(30, '.'))]);
    clock.advance(1);
    syncs.push(j.sync());
  }
  await Promise.all(syncs);
  const segments = readdirSync(dir).sort();
  assert.ok(segments.length >= 10, `rolled by size: ${segments.length} segments`);
  await j.close();
  j = journal(dir, clock);
  assert.equal(j.open().length, 40, 'every record of every segment');
  await j.close();

  clock.advance(25 * HOUR);
  j = journal(dir, clock, { segmentBytes: 100 });
  assert.equal(j.open().length, 40, 'read before the expired segments go');
  j.append([Buffer.from('fresh')]);
  await j.close();
  assert.equal(readdirSync(dir).length, 2, 'only the newest old segment (its successor is new) and the new one stay');
  j = journal(dir, clock, { segmentBytes: 100, maxBytes: 60 });
  j.open();
  j.append([Buffer.from('x'.repeat(80))]);
  j.append([Buffer.from('y'.repeat(80))]);
  await j.close();
  j = journal(dir, clock);
  assert.deepEqual(texts(j.open()), ['y'.repeat(80)], 'past maxBytes the oldest segments go');
  await j.close();
});
