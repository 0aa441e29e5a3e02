import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, TestContext } from 'node:test';
import { createInterface } from 'node:readline';
import { CLEAN_SHUTDOWN_FILE, RECOVERY_POINT_CHECKPOINT_FILE } from '../../../src/engine/embedded/log-file-names';
import { OffsetIndex } from '../../../src/engine/embedded/offset-index';
import { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import { CountingFileOps, rec, readAllValues, startEngine, tempDir } from './helpers';

const T = 1_700_000_000_000;
const N = 30;
const value = (i: number): string => `record-${i}`.padEnd(24, '.');
const LOG = '00000000000000000000.log';

/** Writes N equal-sized single-record batches, closes cleanly, then removes the marker: a crash's disk. */
async function crashedLog(t: TestContext): Promise<{ dir: string; file: string; batchSize: number; size: number }> {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'torn', configs: { 'index.interval.bytes': '100' } });
  for (let i = 0; i < N; i++) await engine.append('torn', 0, [rec(value(i), null, T + i)], { acks: 1 });
  await engine.close();
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  const file = join(dir, 'torn-0', LOG);
  const size = statSync(file).size;
  return { dir, file, batchSize: size / N, size };
}

/** After recovery: every offset reads back as itself, timestamps find their records, the index is sane. */
async function assertIntact(engine: EmbeddedEngine, dir: string, count: number): Promise<void> {
  const log = engine.partitionLog('torn', 0)!;
  assert.equal(log.highWatermark, count);
  assert.deepEqual(await readAllValues(engine, 'torn'), Array.from({ length: count }, (_, i) => value(i)));
  for (let o = 0; o < count; o++) {
    assert.equal((await log.read(o, 1)).records[0].offset, o);
    assert.deepEqual(await engine.listOffset('torn', 0, { timestamp: T + o }), { offset: o, timestamp: T + o });
  }
  const index = new OffsetIndex(join(dir, 'torn-0', '00000000000000000000.index'), 0, 10 << 20);
  assert.equal(await index.load(), true, 'the rebuilt index is on disk and sane');
  assert.ok(index.entryCount > 0);
  assert.ok(index.lastEntry().offset < count);
  assert.ok(index.lastEntry().position < statSync(join(dir, 'torn-0', LOG)).size);
}

test('recovery: garbage after the last batch is cut, every record kept, index rebuilt', async (t) => {
  const { dir, file, size } = await crashedLog(t);
  appendFileSync(file, Buffer.from('this is not a record batch, just bytes a crash left'));
  writeFileSync(join(dir, 'torn-0', '00000000000000000000.index'), Buffer.alloc(20, 0x7f)); // a broken index too
  const engine = await startEngine(t, dir);
  assert.equal(statSync(file).size, size);
  await assertIntact(engine, dir, N);
  assert.equal((await engine.append('torn', 0, [rec('next')], { acks: 1 })).baseOffset, N);
});

test('recovery: a last batch cut in half is removed exactly', async (t) => {
  const { dir, file, batchSize, size } = await crashedLog(t);
  truncateSync(file, size - Math.floor(batchSize / 2));
  const engine = await startEngine(t, dir);
  assert.equal(statSync(file).size, size - batchSize);
  await assertIntact(engine, dir, N - 1);
  assert.equal((await engine.append('torn', 0, [rec('next')], { acks: -1 })).baseOffset, N - 1);
});

test('recovery: a flipped byte in the last batch fails its CRC and the batch is removed', async (t) => {
  const { dir, file, batchSize, size } = await crashedLog(t);
  const fd = openSync(file, 'r+');
  const at = size - 5; // inside the last record's value
  const byte = readFileSync(file).subarray(at, at + 1);
  writeSync(fd, Buffer.from([byte[0] ^ 0x01]), 0, 1, at);
  closeSync(fd);
  const engine = await startEngine(t, dir);
  assert.equal(statSync(file).size, size - batchSize);
  await assertIntact(engine, dir, N - 1);
});

test('recovery: a corrupt batch in the middle cuts the log there', async (t) => {
  const { dir, file, batchSize } = await crashedLog(t);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([0xff, 0xff]), 0, 2, 10 * batchSize + 30);
  closeSync(fd);
  const engine = await startEngine(t, dir);
  assert.equal(statSync(file).size, 10 * batchSize);
  await assertIntact(engine, dir, 10);
});

test('clean shutdown: start-up reads no segment, so corruption in an old segment goes unnoticed', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'big', configs: { 'segment.bytes': '20000', 'index.interval.bytes': '1024' } });
  const payload = 'x'.repeat(100);
  for (let i = 0; i < 50; i++) await engine.append('big', 0, Array.from({ length: 20 }, (_, j) => rec(`${i}-${j}-${payload}`)), { acks: 1 });
  const log = engine.partitionLog('big', 0)!;
  const hw = log.highWatermark;
  const total = log.sizeInBytes();
  const segments = log.segmentBaseOffsets();
  assert.ok(segments.length >= 5);
  await engine.close();
  const first = join(dir, 'big-0', LOG);
  const fd = openSync(first, 'r+');
  writeSync(fd, Buffer.from([0xff, 0xff, 0xff]), 0, 3, 5000);
  closeSync(fd);
  const firstSize = statSync(first).size;

  const ops = new CountingFileOps();
  const clean = await startEngine(t, dir, { fileOps: ops });
  const metaBytes = statSync(join(dir, 'meta', LOG)).size;
  const largestBatch = 20 * 140;
  const segmentBytesRead = ops.bytesRead - 2 * metaBytes; // the metadata log is recovered, then replayed
  assert.ok(segmentBytesRead <= 1024 + 2 * largestBatch, `read ${segmentBytesRead} of ${total} bytes at start-up`);
  assert.ok(total > 20 * segmentBytesRead);
  assert.equal(clean.partitionLog('big', 0)!.highWatermark, hw);
  assert.deepEqual(clean.partitionLog('big', 0)!.segmentBaseOffsets(), segments);
  assert.equal(statSync(first).size, firstSize, 'the old segment was not touched');
  await clean.close();

  // The same bytes after a crash with no recovery point: the scan finds the corruption.
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  rmSync(join(dir, RECOVERY_POINT_CHECKPOINT_FILE));
  const recovered = await startEngine(t, dir);
  const log2 = recovered.partitionLog('big', 0)!;
  assert.ok(log2.highWatermark < hw);
  assert.ok(statSync(first).size <= 5000);
  assert.deepEqual(log2.segmentBaseOffsets(), [0]);
});

test('after a crash only segments from the recovery point on are re-read', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'rp', configs: { 'segment.bytes': '3000' } });
  for (let i = 0; i < 100; i++) await engine.append('rp', 0, [rec(`v${i}`.padEnd(50, '.'))], { acks: 1 });
  const segments = engine.partitionLog('rp', 0)!.segmentBaseOffsets();
  await engine.close();
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  const ops = new CountingFileOps();
  const restarted = await startEngine(t, dir, { fileOps: ops });
  const active = statSync(join(dir, 'rp-0', `${String(segments[segments.length - 1]).padStart(20, '0')}.log`)).size;
  const metaBytes = statSync(join(dir, 'meta', LOG)).size;
  // The metadata log is read twice: recovered (always), then replayed.
  assert.equal(ops.bytesRead, active + 2 * metaBytes, 'only the segment holding the recovery point and the metadata log');
  assert.equal((await readAllValues(restarted, 'rp')).length, 100);
});

test('kill -9 during acks=-1 appends: every acknowledged record survives, offsets stay contiguous', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, [join(__dirname, 'crash-writer.js'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const acked = new Map<number, number>(); // producer -> count acknowledged
  let maxAckedOffset = -1;
  let lines = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const [p, offset] = line.split(' ').map(Number);
    acked.set(p, (acked.get(p) ?? 0) + 1);
    maxAckedOffset = Math.max(maxAckedOffset, offset);
    if (++lines === 400) child.kill('SIGKILL');
  }
  await exited;
  assert.equal(stderr, '');
  assert.ok(lines >= 400);

  const engine = await startEngine(t, dir);
  const log = engine.partitionLog('crash', 0)!;
  assert.ok(log.highWatermark > maxAckedOffset, `high watermark ${log.highWatermark} covers offset ${maxAckedOffset}`);
  const values = await readAllValues(engine, 'crash');
  assert.equal(values.length, log.highWatermark);
  const seen = new Map<number, number>();
  for (const v of values) {
    const [p, i] = v.split('-').map(Number);
    assert.equal(i, seen.get(p) ?? 0, `producer ${p} records in order without gaps`);
    seen.set(p, i + 1);
  }
  for (const [p, count] of acked) assert.ok((seen.get(p) ?? 0) >= count, `producer ${p}: ${count} acknowledged`);
  // The log takes new appends after recovery.
  assert.equal((await engine.append('crash', 0, [rec('after')], { acks: -1 })).baseOffset, log.highWatermark - 1);
});
