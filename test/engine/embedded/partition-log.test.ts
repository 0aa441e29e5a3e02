import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../../src/engine/engine-error';
import { CountingFileOps, ManualClock, rec, readAllValues, recs, startEngine, tempDir } from './helpers';

function logFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
}

test('segments roll by segment.bytes; no segment exceeds it and reads cross segments', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'small', configs: { 'segment.bytes': '1000' } });
  for (let i = 0; i < 60; i++) await engine.append('small', 0, [rec(`value-${i}`)], { acks: 1 });
  const log = engine.partitionLog('small', 0)!;
  const files = logFiles(join(dir, 'small-0'));
  assert.ok(files.length >= 4, `expected several segments, got ${files.length}`);
  assert.deepEqual(files.map((f) => Number(f.slice(0, 20))), log.segmentBaseOffsets());
  assert.equal(files[0], '00000000000000000000.log');
  for (const f of files) assert.ok(statSync(join(dir, 'small-0', f)).size <= 1000);
  const values = await readAllValues(engine, 'small');
  assert.deepEqual(values, Array.from({ length: 60 }, (_, i) => `value-${i}`));
});

test('segments roll by segment.ms, measured with the injected clock', async (t) => {
  const clock = new ManualClock();
  const engine = await startEngine(t, tempDir(t), { now: clock.now });
  await engine.createTopic({ name: 'timed', configs: { 'segment.ms': '60000' } });
  await engine.append('timed', 0, recs(2), { acks: 1 });
  clock.advance(30_000);
  await engine.append('timed', 0, recs(2), { acks: 1 });
  const log = engine.partitionLog('timed', 0)!;
  assert.deepEqual(log.segmentBaseOffsets(), [0]);
  clock.advance(30_001);
  await engine.append('timed', 0, recs(1), { acks: 1 });
  assert.deepEqual(log.segmentBaseOffsets(), [0, 4]);
  clock.advance(60_001);
  await engine.append('timed', 0, recs(1), { acks: 1 });
  assert.deepEqual(log.segmentBaseOffsets(), [0, 4, 5]);
});

test('a full offset index rolls the segment (segment.index.bytes)', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  // 24 bytes: 3 offset index entries, 2 time index entries; an entry for every batch after the first.
  await engine.createTopic({ name: 'idx', configs: { 'segment.index.bytes': '24', 'index.interval.bytes': '0' } });
  for (let i = 0; i < 10; i++) await engine.append('idx', 0, [rec(`v${i}`)], { acks: 1 });
  const log = engine.partitionLog('idx', 0)!;
  assert.ok(log.segmentCount >= 3, `expected rolls, got ${log.segmentCount} segments`);
  assert.equal((await readAllValues(engine, 'idx')).length, 10);
});

test('concurrent appends keep call order and contiguous offsets', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'order', configs: { 'segment.bytes': '4096' } });
  const pending = [];
  for (let i = 0; i < 300; i++) {
    const size = 1 + (i % 4);
    pending.push(engine.append('order', 0, recs(size, `p${i}-`), { acks: i % 3 === 0 ? -1 : 1 }));
  }
  const results = await Promise.all(pending);
  let expected = 0;
  for (let i = 0; i < results.length; i++) {
    assert.equal(results[i].baseOffset, expected, `append ${i}`);
    expected = results[i].lastOffset + 1;
  }
  const values = await readAllValues(engine, 'order');
  const wanted: string[] = [];
  for (let i = 0; i < 300; i++) for (let j = 0; j < 1 + (i % 4); j++) wanted.push(`p${i}-${j}`);
  assert.deepEqual(values, wanted);
});

test('a batch over max.message.bytes is RECORD_TOO_LARGE and appends nothing', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'limited', configs: { 'max.message.bytes': '200' } });
  await engine.append('limited', 0, recs(2), { acks: 1 });
  const sizeBefore = statSync(join(dir, 'limited-0', '00000000000000000000.log')).size;
  await assert.rejects(engine.append('limited', 0, [rec('x'.repeat(300))], { acks: 1 }), (err: EngineError) => err.code === 'RECORD_TOO_LARGE');
  await assert.rejects(engine.append('limited', 0, recs(20), { acks: -1 }), (err: EngineError) => err.code === 'RECORD_TOO_LARGE');
  const next = await engine.append('limited', 0, recs(1, 'after'), { acks: 1 });
  assert.equal(next.baseOffset, 2);
  assert.equal(statSync(join(dir, 'limited-0', '00000000000000000000.log')).size > sizeBefore, true);
  assert.deepEqual(await readAllValues(engine, 'limited'), ['v0', 'v1', 'after0']);
});

test('group commit: many concurrent acks=-1 appends share fsyncs and all resolve durable', async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'durable' });
  const syncsBefore = ops.syncs;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => engine.append('durable', 0, [rec(`d${i}`)], { acks: -1 })));
  const syncs = ops.syncs - syncsBefore;
  assert.ok(syncs >= 1, 'acks=-1 must fsync');
  assert.ok(syncs < 200, `expected fewer fsyncs than appends, got ${syncs}`);
  const log = engine.partitionLog('durable', 0)!;
  const last = Math.max(...results.map((r) => r.lastOffset));
  assert.equal(last, 199);
  assert.ok(log.recoveryPoint >= last + 1, `recovery point ${log.recoveryPoint} covers every acknowledged append`);
});

test('group commit: an append written during an fsync waits for the next fsync', async (t) => {
  const ops = new HeldSyncOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'gc' });
  ops.holding = true;
  const log = engine.partitionLog('gc', 0)!;
  let aDone = false;
  let bDone = false;
  const a = engine.append('gc', 0, [rec('a')], { acks: -1 }).then(() => (aDone = true));
  await ops.syncStarted(1);
  const b = engine.append('gc', 0, [rec('b')], { acks: -1 }).then(() => (bDone = true));
  await waitFor(() => log.highWatermark === 2);
  assert.equal(aDone || bDone, false, 'nothing resolves before its fsync');
  ops.release();
  await a;
  await ops.syncStarted(2);
  assert.equal(bDone, false, 'b was written after fsync 1 began, so fsync 1 does not cover it');
  ops.release();
  await b;
  assert.equal(ops.started, 2);
});

test('acks=0 and acks=1 resolve without fsync', async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'fast' });
  const before = ops.syncs;
  await engine.append('fast', 0, recs(3), { acks: 1 });
  const r = await engine.append('fast', 0, recs(3), { acks: 0 });
  assert.equal(r.baseOffset, 3);
  assert.equal(ops.syncs, before);
  assert.equal(engine.partitionLog('fast', 0)!.highWatermark, 6);
});

test('a failed write takes the partition offline with KAFKA_STORAGE_ERROR', async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'disk', partitions: 2 });
  await engine.append('disk', 0, recs(2), { acks: 1 });
  ops.failWrites = true;
  const isStorageError = (err: EngineError) => err.code === 'KAFKA_STORAGE_ERROR' && err.retriable;
  await assert.rejects(engine.append('disk', 0, recs(1), { acks: 1 }), isStorageError);
  await assert.rejects(engine.append('disk', 0, recs(1), { acks: 0 }), isStorageError);
  ops.failWrites = false;
  await assert.rejects(engine.append('disk', 0, recs(1), { acks: 1 }), isStorageError, 'stays offline: no guessing');
  const fetched = await engine.fetch({ partitions: [{ topic: 'disk', partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
  assert.equal(fetched.partitions[0].error?.code, 'KAFKA_STORAGE_ERROR');
  assert.equal(engine.health().status, 'DOWN');
  // The other partition is unaffected.
  assert.equal((await engine.append('disk', 1, recs(1), { acks: 1 })).baseOffset, 0);
});

test('reads start at the offset index position, not the segment start', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'indexed', configs: { 'index.interval.bytes': '100' } });
  for (let i = 0; i < 50; i++) await engine.append('indexed', 0, [rec(`value-${i}`.padEnd(40, '.'))], { acks: 1 });
  // Wreck the first 200 bytes: a reader scanning from position 0 could not get past them.
  const fd = openSync(join(dir, 'indexed-0', '00000000000000000000.log'), 'r+');
  writeSync(fd, Buffer.alloc(200, 0xee), 0, 200, 0);
  closeSync(fd);
  const log = engine.partitionLog('indexed', 0)!;
  const { records } = await log.read(40, 1 << 20);
  assert.equal(records[0].offset, 40);
  assert.equal(records[0].value?.toString().startsWith('value-40'), true);
  assert.equal(records.length, 10);
  await assert.rejects(log.read(0, 1 << 20), (err: EngineError) => err.code === 'CORRUPT_MESSAGE');
});

test('reads: maxBytes bounds the batches, one batch always comes, out-of-range offsets throw', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'r' });
  for (let i = 0; i < 10; i++) await engine.append('r', 0, [rec('x'.repeat(100))], { acks: 1 });
  const log = engine.partitionLog('r', 0)!;
  const one = await log.read(3, 1);
  assert.deepEqual(one.records.map((r) => r.offset), [3]);
  const some = await log.read(3, 2 * one.bytes);
  assert.deepEqual(some.records.map((r) => r.offset), [3, 4]);
  assert.deepEqual((await log.read(10, 1000)).records, []);
  await assert.rejects(log.read(11, 1000), (err: EngineError) => err.code === 'OFFSET_OUT_OF_RANGE');
  await assert.rejects(log.read(-1, 1000), (err: EngineError) => err.code === 'OFFSET_OUT_OF_RANGE');
});

test('offset for timestamp: first record at or after it, via the time index', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'ts', configs: { 'index.interval.bytes': '50', 'segment.bytes': '2000' } });
  const T = 1_700_000_000_000;
  // Timestamps rise by 10 per batch, with one record going back in time at offset 20.
  for (let i = 0; i < 60; i++) await engine.append('ts', 0, [rec(`v${i}`, null, i === 20 ? T : T + i * 10)], { acks: 1 });
  assert.ok(engine.partitionLog('ts', 0)!.segmentCount > 1);
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T + 250 }), { offset: 25, timestamp: T + 250 });
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T + 251 }), { offset: 26, timestamp: T + 260 });
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T }), { offset: 0, timestamp: T });
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T + 1 }), { offset: 1, timestamp: T + 10 });
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T + 590 }), { offset: 59, timestamp: T + 590 });
  assert.deepEqual(await engine.listOffset('ts', 0, { timestamp: T + 591 }), { offset: -1, timestamp: -1 });
  assert.deepEqual(await engine.listOffset('ts', 0, 'earliest'), { offset: 0, timestamp: -1 });
  assert.deepEqual(await engine.listOffset('ts', 0, 'latest'), { offset: 60, timestamp: -1 });
});

/** FileOps whose fdatasync calls wait until the test releases them, one at a time. */
class HeldSyncOps extends CountingFileOps {
  started = 0;
  holding = false;
  private releases: (() => void)[] = [];
  private startWaiters: (() => void)[] = [];
  override async fdatasync(fd: number): Promise<void> {
    if (!this.holding) return super.fdatasync(fd);
    this.started++;
    for (const w of this.startWaiters.splice(0)) w();
    await new Promise<void>((resolve) => this.releases.push(resolve));
    return super.fdatasync(fd);
  }
  async syncStarted(n: number): Promise<void> {
    while (this.started < n) await new Promise<void>((resolve) => this.startWaiters.push(resolve));
  }
  release(): void {
    this.releases.shift()?.();
  }
}

/** Polls a condition on the event loop until it holds; fails after a bounded number of turns. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never held');
}

test('message.timestamp.type=LogAppendTime stamps batches with the append time', async (t) => {
  const clock = new ManualClock();
  const engine = await startEngine(t, tempDir(t), { now: clock.now });
  await engine.createTopic({ name: 'lat', configs: { 'message.timestamp.type': 'LogAppendTime' } });
  const result = await engine.append('lat', 0, [rec('a', null, 5), rec('b', null, 7)], { acks: 1 });
  assert.equal(result.timestamp, clock.time);
  const { records } = await engine.partitionLog('lat', 0)!.read(0, 1000);
  assert.deepEqual(records.map((r) => [r.timestamp, r.timestampType]), [
    [clock.time, 'LogAppendTime'],
    [clock.time, 'LogAppendTime'],
  ]);
});
