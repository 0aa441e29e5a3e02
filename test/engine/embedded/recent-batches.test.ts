import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecordBatch } from '../../../src/engine/embedded/codec/record-batch';
import { RecentBatches } from '../../../src/engine/embedded/recent-batches';
import { FetchRequest } from '../../../src/engine/storage-engine';
import { CountingFileOps, rec, recs, startEngine, tempDir } from './helpers';

const HOUR = 3_600_000;

function request(topic: string, offset: number, extra: Partial<FetchRequest> = {}): FetchRequest {
  return { partitions: [{ topic, partition: 0, offset }], maxBytes: 1 << 20, maxWaitMs: HOUR, isolationLevel: 'read_committed', ...extra };
}

function batch(baseOffset: number, count: number, valueBytes = 10): Buffer {
  const records = Array.from({ length: count }, () => ({ key: null, value: Buffer.alloc(valueBytes, 120), headers: [], timestamp: 1 }));
  return encodeRecordBatch(records, { baseOffset });
}

test('a fetch woken by an append gets the batch from memory: nothing is read back from the file', { timeout: 20_000 }, async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'hot', partitions: 1 });
  await engine.append('hot', 0, recs(3), { acks: 1 });
  for (let i = 0; i < 3; i++) {
    const fetching = engine.fetch(request('hot', 3 + i));
    const before = ops.bytesRead;
    await engine.append('hot', 0, [rec(`new${i}`)], { acks: 1 });
    const [p] = (await fetching).partitions;
    assert.deepEqual(p.records.map((r) => [r.offset, r.value?.toString()]), [[3 + i, `new${i}`]]);
    assert.equal(p.nextOffset, 4 + i);
    assert.equal(ops.bytesRead, before, 'no file read for a batch just appended');
  }
  // What memory served is what the file holds: the same records read back after a restart's worth of cache loss.
  const all = await engine.fetch(request('hot', 0, { maxWaitMs: 0 }));
  assert.deepEqual(all.partitions[0].records.map((r) => r.value?.toString()), ['v0', 'v1', 'v2', 'new0', 'new1', 'new2']);
});

test('with no fetch waiting nothing is kept: reads of older batches come from the file, and are the same', { timeout: 20_000 }, async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'cold', partitions: 1 });
  await engine.append('cold', 0, recs(2, 'a'), { acks: 1 });
  const before = ops.bytesRead;
  const [p] = (await engine.fetch(request('cold', 0, { maxWaitMs: 0 }))).partitions;
  assert.deepEqual(p.records.map((r) => r.value?.toString()), ['a0', 'a1']);
  assert.ok(ops.bytesRead > before, 'read from the file');
});

test('recent batches: contiguous, bounded, and read as a segment read would be', () => {
  const recent = new RecentBatches(1000);
  const b0 = batch(0, 2); // offsets 0-1
  const b2 = batch(2, 3); // offsets 2-4
  recent.add(b0, 0, 1, 0);
  recent.add(b2, 2, 4, b0.length);
  assert.equal(recent.read(5, 1 << 20, true), undefined, 'past the newest batch');
  const fromMiddle = recent.read(3, 1 << 20, true)!;
  assert.deepEqual(fromMiddle.batches.map((b) => b.header.baseOffset), [2], 'from the batch holding the offset');
  assert.equal(fromMiddle.batches[0].filePosition, b0.length);
  const both = recent.read(0, 1 << 20, true)!;
  assert.deepEqual(both.batches.map((b) => b.header.baseOffset), [0, 2]);
  assert.equal(both.bytes, b0.length + b2.length);
  assert.deepEqual(recent.read(0, 1, true)!.batches.map((b) => b.header.baseOffset), [0], 'one batch at least');
  assert.deepEqual(recent.read(0, 1, false)!.batches, [], 'none when not even one fits and none is asked for');

  // Past the byte bound the oldest go.
  const big = batch(5, 1, 800);
  recent.add(big, 5, 5, 0);
  assert.equal(recent.read(0, 1 << 20, true), undefined);
  assert.deepEqual(recent.read(2, 1 << 20, true)!.batches.map((b) => b.header.baseOffset), [2, 5]);
  // A gap (the log moved on without telling) drops everything older: no read may skip offsets.
  recent.add(batch(9, 1), 9, 9, 0);
  assert.equal(recent.read(5, 1 << 20, true), undefined);
  assert.deepEqual(recent.read(9, 1 << 20, true)!.batches.map((b) => b.header.baseOffset), [9]);
  // A batch larger than the bound is not kept, and nothing older is either.
  recent.add(batch(10, 1, 2000), 10, 10, 0);
  assert.equal(recent.read(9, 1 << 20, true), undefined);
  assert.equal(recent.read(10, 1 << 20, true), undefined);
});

test('recent batches: at most maxCount batches, the newest, kept in order as the ring wraps', () => {
  const recent = new RecentBatches(1 << 20, 3);
  const buffers = Array.from({ length: 8 }, (_, i) => batch(i, 1));
  for (let i = 0; i < 8; i++) {
    recent.add(buffers[i], i, i, i * 100);
    const oldest = Math.max(0, i - 2);
    assert.equal(recent.read(oldest - 1, 1 << 20, true), undefined, `offset ${oldest - 1} dropped after adding ${i}`);
    const kept = recent.read(oldest, 1 << 20, true)!;
    assert.deepEqual(kept.batches.map((b) => b.header.baseOffset), Array.from({ length: i - oldest + 1 }, (_, k) => oldest + k));
    assert.deepEqual(kept.batches.map((b) => b.filePosition), Array.from({ length: i - oldest + 1 }, (_, k) => (oldest + k) * 100));
    assert.ok(kept.batches.every((b, k) => b.buf === buffers[oldest + k]), 'the very buffers added');
  }
  // A gap clears the ring; what is added next starts it again.
  recent.add(batch(20, 2), 20, 21, 0);
  assert.equal(recent.read(7, 1 << 20, true), undefined);
  assert.deepEqual(recent.read(21, 1 << 20, true)!.batches.map((b) => b.header.baseOffset), [20]);
});
