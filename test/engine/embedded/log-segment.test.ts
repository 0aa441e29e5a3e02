import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test, TestContext } from 'node:test';
import { encodeRecordBatch } from '../../../src/engine/embedded/codec/record-batch';
import { nodeFileOps } from '../../../src/engine/embedded/file-ops';
import { logConfigFrom } from '../../../src/engine/embedded/log-config';
import { LogSegment } from '../../../src/engine/embedded/log-segment';
import { effectiveTopicConfigs } from '../../../src/engine/topic-config';
import { defer, tempDir } from './helpers';

const BASE = 100;
const T = 1_700_000_000_000;

/** A segment at offset 100 holding 20 batches of 3 records each; batch i has timestamps T + 10i .. T + 10i + 2. */
async function filledSegment(t: TestContext): Promise<LogSegment> {
  const config = logConfigFrom(effectiveTopicConfigs({ 'index.interval.bytes': '150' }));
  const segment = LogSegment.create(tempDir(t), BASE, config, nodeFileOps, T);
  const fd = await segment.open();
  for (let i = 0; i < 20; i++) {
    const base = BASE + i * 3;
    const records = [0, 1, 2].map((j) => ({ key: null, value: Buffer.from(`r${base + j}`), timestamp: T + 10 * i + j }));
    const batch = encodeRecordBatch(records, { baseOffset: base });
    const position = segment.append(batch.length, base + 2, T + 10 * i + 2);
    await nodeFileOps.writev(fd, [batch], position);
    segment.markWritten(batch.length);
  }
  defer(t, () => segment.close(false));
  return segment;
}

test('segment read finds the batch holding an offset and honours maxBytes', async (t) => {
  const segment = await filledSegment(t);
  assert.ok(segment.offsetIndex.entryCount > 2, 'sparse index has entries');
  const mid = await segment.read(131, 1, true);
  assert.equal(mid.batches.length, 1);
  assert.equal(mid.batches[0].header.baseOffset, 130);
  const two = await segment.read(131, 2 * mid.bytes, true);
  assert.deepEqual(two.batches.map((b) => b.header.baseOffset), [130, 133]);
  const none = await segment.read(131, 1, false);
  assert.equal(none.batches.length, 0);
  assert.equal((await segment.read(160, 1000, true)).batches.length, 0);
});

test('segment offset for timestamp: earliest record at or after it', async (t) => {
  const segment = await filledSegment(t);
  assert.deepEqual(await segment.findOffsetByTimestamp(T + 51, BASE, 160), { offset: 116, timestamp: T + 51 });
  assert.deepEqual(await segment.findOffsetByTimestamp(T + 53, BASE, 160), { offset: 118, timestamp: T + 60 });
  assert.deepEqual(await segment.findOffsetByTimestamp(T - 5, BASE, 160), { offset: 100, timestamp: T });
  assert.equal(await segment.findOffsetByTimestamp(T + 1000, BASE, 160), undefined);
  assert.equal(await segment.findOffsetByTimestamp(T + 100, BASE, 130), undefined, 'nothing at or past upTo');
});

test('segment truncateTo cuts whole batches and keeps indexes and timestamps consistent', async (t) => {
  const segment = await filledSegment(t);
  const batchSize = segment.writtenSize / 20;
  const removed = await segment.truncateTo(131); // inside batch 130..132: that whole batch goes
  assert.equal(removed, 10 * batchSize);
  assert.equal(segment.writtenSize, 10 * batchSize);
  assert.equal(statSync(segment.offsetIndex.file.replace('.index', '.log')).size, 10 * batchSize);
  assert.equal(segment.nextOffset, 130);
  assert.ok(segment.offsetIndex.lastEntry().offset < 130);
  assert.equal(await segment.largestTimestamp(), T + 92);
  assert.equal((await segment.read(127, 1 << 20, true)).batches.length, 1);
  assert.equal(await segment.truncateTo(500), 0, 'past the end: nothing to cut');
});

test('segment recovery keeps valid batches and rebuilds the same index', async (t) => {
  const segment = await filledSegment(t);
  const entries = segment.offsetIndex.entryCount;
  const last = segment.offsetIndex.lastEntry();
  const result = await segment.recover();
  assert.equal(result.batches, 20);
  assert.equal(result.truncatedBytes, 0);
  assert.equal(result.stop, 'end');
  assert.equal(segment.offsetIndex.entryCount, entries);
  assert.deepEqual(segment.offsetIndex.lastEntry(), last);
  assert.equal(segment.nextOffset, 160);
});
