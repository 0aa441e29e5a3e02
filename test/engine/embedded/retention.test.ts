import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../../src/engine/engine-error';
import { ManualClock, rec, readAllValues, startEngine, tempDir } from './helpers';

const HOUR = 3_600_000;

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(log|index|timeindex|deleted)$/.test(f));
}

test('retention by time deletes whole old segments and advances the log start offset', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const engine = await startEngine(t, dir, { now: clock.now });
  await engine.createTopic({ name: 'aging', configs: { 'segment.bytes': '600', 'retention.ms': String(24 * HOUR) } });
  for (let i = 0; i < 20; i++) await engine.append('aging', 0, [rec(`old-${i}`.padEnd(30, '.'))], { acks: 1 });
  const log = engine.partitionLog('aging', 0)!;
  const oldSegments = log.segmentBaseOffsets();
  assert.ok(oldSegments.length >= 3);
  clock.advance(25 * HOUR);
  for (let i = 0; i < 3; i++) await engine.append('aging', 0, [rec(`new-${i}`)], { acks: 1 });
  const activeBase = log.activeSegment.baseOffset;

  await engine.runRetention();

  const remaining = log.segmentBaseOffsets();
  assert.ok(remaining.length < oldSegments.length, `${remaining} vs ${oldSegments}`);
  assert.ok(remaining.includes(activeBase), 'the active segment is never deleted');
  assert.equal(log.logStartOffset, remaining[0]);
  assert.ok(log.logStartOffset > 0);
  const files = segmentFiles(join(dir, 'aging-0'));
  assert.deepEqual(files.filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, 20))), remaining);
  assert.equal(files.some((f) => f.endsWith('.deleted')), false);
  await assert.rejects(log.read(0, 1000), (err: EngineError) => err.code === 'OFFSET_OUT_OF_RANGE');
  const fetched = await engine.fetch({ partitions: [{ topic: 'aging', partition: 0, offset: 0 }], maxBytes: 1000, maxWaitMs: 0, isolationLevel: 'read_committed' });
  assert.equal(fetched.partitions[0].error?.code, 'OFFSET_OUT_OF_RANGE');
  assert.deepEqual((await engine.listOffset('aging', 0, 'earliest')).offset, log.logStartOffset);
  const values = await readAllValues(engine, 'aging');
  assert.deepEqual(values.slice(-3), ['new-0', 'new-1', 'new-2']);

  // The log start offset survives a restart.
  const start = log.logStartOffset;
  await engine.close();
  const again = await startEngine(t, dir, { now: clock.now });
  assert.equal(again.partitionLog('aging', 0)!.logStartOffset, start);
  assert.deepEqual((await again.describeTopic('aging')).partitions[0].logStartOffset, start);
});

test('retention by time keeps segments with any record newer than retention.ms', async (t) => {
  const clock = new ManualClock();
  const engine = await startEngine(t, tempDir(t), { now: clock.now });
  await engine.createTopic({ name: 'young', configs: { 'segment.bytes': '300', 'retention.ms': String(HOUR) } });
  for (let i = 0; i < 12; i++) await engine.append('young', 0, [rec(`v${i}`.padEnd(30, '.'))], { acks: 1 });
  const log = engine.partitionLog('young', 0)!;
  const before = log.segmentBaseOffsets();
  clock.advance(HOUR); // exactly retention.ms old: not past it
  await engine.runRetention();
  assert.deepEqual(log.segmentBaseOffsets(), before);
  assert.equal(log.logStartOffset, 0);
});

test('retention by bytes deletes the oldest segments while the rest stays at least retention.bytes', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'sized', configs: { 'segment.bytes': '500', 'retention.bytes': '1200', 'retention.ms': '-1' } });
  for (let i = 0; i < 40; i++) await engine.append('sized', 0, [rec(`v${i}`.padEnd(40, '.'))], { acks: 1 });
  const log = engine.partitionLog('sized', 0)!;
  const sizeBefore = log.sizeInBytes();
  assert.ok(sizeBefore > 2400);
  await engine.runRetention();
  const size = log.sizeInBytes();
  assert.ok(size >= 1200, `kept ${size} bytes, at least retention.bytes`);
  assert.ok(size < 1200 + 500, `kept ${size} bytes: less than one more segment over the limit`);
  assert.equal(log.logStartOffset, log.segmentBaseOffsets()[0]);
  assert.ok(log.logStartOffset > 0);
  await assert.rejects(log.read(log.logStartOffset - 1, 1000), (err: EngineError) => err.code === 'OFFSET_OUT_OF_RANGE');
  const values = await readAllValues(engine, 'sized');
  assert.equal(values[values.length - 1], 'v39'.padEnd(40, '.'));
  assert.equal(values.length, 40 - log.logStartOffset);
  const onDisk = segmentFiles(join(dir, 'sized-0')).filter((f) => f.endsWith('.log')).length;
  assert.equal(onDisk, log.segmentCount);
});

test('retention.ms=-1 and retention.bytes=-1 keep everything', async (t) => {
  const clock = new ManualClock();
  const engine = await startEngine(t, tempDir(t), { now: clock.now });
  await engine.createTopic({ name: 'forever', configs: { 'segment.bytes': '300', 'retention.ms': '-1' } });
  for (let i = 0; i < 12; i++) await engine.append('forever', 0, [rec(`v${i}`.padEnd(30, '.'))], { acks: 1 });
  clock.advance(1000 * 24 * HOUR);
  const before = engine.partitionLog('forever', 0)!.segmentBaseOffsets();
  await engine.runRetention();
  assert.deepEqual(engine.partitionLog('forever', 0)!.segmentBaseOffsets(), before);
});
