import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLEAN_SHUTDOWN_FILE } from '../../../src/engine/embedded/log-file-names';
import { incrementSequence, ProducerStateManager } from '../../../src/engine/embedded/producer-state-manager';
import { CorruptSnapshotError, decodeSnapshot, encodeSnapshot } from '../../../src/engine/embedded/producer-state-snapshot';
import type { ProducerBatchIdentity } from '../../../src/engine/storage-engine';
import { readAllValues, recs, startEngine, tempDir } from './helpers';
import { batch, code } from './producer-state-helpers';

const PID = 4000;

function snapshots(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.snapshot')).sort();
}

test('producer state: the last 5 batches are duplicates, a gap and a fenced epoch are refused', () => {
  const m = new ProducerStateManager('t-0');
  assert.equal(m.check(PID, 0, 17, 3, 0), undefined, 'an unknown producer may start at any sequence');
  for (let i = 0; i < 7; i++) m.update(PID, 0, batch(i * 2, 2, i * 10), 1);
  for (let i = 2; i < 7; i++) assert.equal(m.check(PID, 0, i * 2, 2, 0)?.firstOffset, i * 10, `batch ${i} is remembered`);
  assert.equal(code(() => m.check(PID, 0, 2, 2, 0)), 'DUPLICATE_SEQUENCE_NUMBER', 'older than the last 5: known to be appended, offsets forgotten');
  assert.equal(code(() => m.check(PID, 0, 12, 3, 0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'same first sequence, different count');
  assert.equal(code(() => m.check(PID, 0, 15, 1, 0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a gap');
  assert.equal(m.check(PID, 0, 14, 5, 0), undefined, 'the next sequence');
  m.update(PID, 1, batch(0, 1, 100), 2);
  assert.equal(code(() => m.check(PID, 0, 14, 1, 0)), 'INVALID_PRODUCER_EPOCH');
  assert.equal(code(() => m.check(PID, 2, 5, 1, 0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a new epoch starts at 0');
  assert.equal(m.check(PID, 2, 0, 1, 0), undefined);
  assert.equal(m.entry(PID)?.batches.length, 1, 'a new epoch forgets the old batches');
});

test('producer state: sequences wrap from int32 max to 0', () => {
  const max = 0x7fff_ffff;
  assert.equal(incrementSequence(max, 1), 0);
  assert.equal(incrementSequence(max - 1, 3), 1);
  const m = new ProducerStateManager('t-0');
  m.update(PID, 0, batch(max - 1, 2, 0), 1);
  assert.equal(m.check(PID, 0, 0, 1, 0), undefined);
  assert.equal(code(() => m.check(PID, 0, 1, 1, 0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  m.update(PID, 0, batch(0, 1, 2), 1);
  assert.equal(m.check(PID, 0, max - 1, 2, 0)?.firstOffset, 0);
});

test('producer state: expiry forgets idle producers only', () => {
  const m = new ProducerStateManager('t-0');
  m.update(1, 0, batch(0, 1, 0), 1_000);
  m.update(2, 0, batch(0, 1, 1), 5_000);
  assert.equal(m.removeExpired(10_000, 6_000), 1);
  assert.equal(m.entry(1), undefined);
  assert.ok(m.entry(2) !== undefined);
});

test('producer state snapshot: round trip, and a flipped byte is caught by the CRC', () => {
  const m = new ProducerStateManager('t-0');
  for (let i = 0; i < 6; i++) m.update(PID, 3, batch(i, 1, 2 ** 40 + i), 7);
  m.update(2 ** 50, 0, batch(9, 4, 12), 8);
  const bytes = encodeSnapshot(m.entries());
  const decoded = decodeSnapshot(bytes);
  assert.deepEqual(decoded, [...m.entries()].map((e) => ({ ...e, batches: e.batches.slice(-5) })));
  assert.equal(decoded[0].batches.length, 5);
  const bad = Buffer.from(bytes);
  bad[bad.length - 3] ^= 1;
  assert.throws(() => decodeSnapshot(bad), CorruptSnapshotError);
  assert.throws(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1)), CorruptSnapshotError);
});

test('engine: a retried batch answers its first offsets and appends nothing, also while the first is queued', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'idem' });
  const id = (baseSequence: number): ProducerBatchIdentity => ({ producerId: PID, producerEpoch: 0, baseSequence });
  const first = engine.append('idem', 0, recs(3, 'a'), { acks: -1, producer: id(0) });
  const retryQueued = engine.append('idem', 0, recs(3, 'a'), { acks: -1, producer: id(0) });
  const [a, b] = await Promise.all([first, retryQueued]);
  assert.equal(a.baseOffset, 0);
  assert.equal(a.duplicate, undefined);
  assert.deepEqual({ ...b, duplicate: undefined }, { ...a, duplicate: undefined });
  assert.equal(b.duplicate, true);
  const next = await engine.append('idem', 0, recs(2, 'b'), { acks: 1, producer: id(3) });
  assert.equal(next.baseOffset, 3);
  const upgraded = await engine.append('idem', 0, recs(2, 'b'), { acks: -1, producer: id(3) });
  assert.equal(upgraded.duplicate, true);
  assert.equal(upgraded.baseOffset, 3);
  assert.ok(engine.partitionLog('idem', 0)!.recoveryPoint >= 5, 'an acks=all retry of an acks=1 batch waits for its fsync');
  await assert.rejects(engine.append('idem', 0, recs(1), { acks: 1, producer: id(9) }), { code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
  await assert.rejects(engine.append('idem', 0, recs(1), { acks: 1, producer: { producerId: PID, producerEpoch: -1, baseSequence: 5 } }), { code: 'INVALID_REQUEST' });
  assert.deepEqual(await readAllValues(engine, 'idem'), ['a0', 'a1', 'a2', 'b0', 'b1']);
  const block = await engine.allocateProducerIds(10);
  const other = await engine.allocateProducerIds(10);
  assert.equal(other.firstProducerId, block.firstProducerId + 10);
});

test('engine: producer state survives a clean restart through the snapshot at the log end', async (t) => {
  const dir = tempDir(t);
  let engine = await startEngine(t, dir);
  await engine.createTopic({ name: 's' });
  const ids = (await engine.allocateProducerIds(1)).firstProducerId;
  for (let i = 0; i < 4; i++) await engine.append('s', 0, recs(2, `r${i}-`), { acks: 1, producer: { producerId: ids, producerEpoch: 0, baseSequence: i * 2 } });
  await engine.close();
  assert.deepEqual(snapshots(join(dir, 's-0')), ['00000000000000000008.snapshot']);
  engine = await startEngine(t, dir);
  const again = await engine.append('s', 0, recs(2, 'r3-'), { acks: 1, producer: { producerId: ids, producerEpoch: 0, baseSequence: 6 } });
  assert.deepEqual([again.duplicate, again.baseOffset], [true, 6]);
  await assert.rejects(engine.append('s', 0, recs(1), { acks: 1, producer: { producerId: ids, producerEpoch: 0, baseSequence: 9 } }), { code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
  const fresh = (await engine.allocateProducerIds(1)).firstProducerId;
  assert.ok(fresh > ids, 'producer ids are never handed out twice, across restarts');
  assert.equal(engine.partitionLog('s', 0)!.highWatermark, 8);
});

test('engine: after a crash with no snapshot the state is rebuilt by replaying the log', async (t) => {
  const dir = tempDir(t);
  let engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'c', configs: { 'segment.bytes': '400' } });
  for (let i = 0; i < 20; i++) await engine.append('c', 0, recs(1, `v${i}-`), { acks: 1, producer: { producerId: PID + (i % 2), producerEpoch: 0, baseSequence: i >> 1 } });
  const log = engine.partitionLog('c', 0)!;
  assert.ok(log.segmentCount > 3, 'several rolls');
  await engine.close();
  const partitionDir = join(dir, 'c-0');
  const kept = snapshots(partitionDir);
  assert.equal(kept.length, 3, 'the last 3 snapshots are kept');
  assert.equal(kept[2], '00000000000000000020.snapshot');
  for (const f of kept) rmSync(join(partitionDir, f));
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  engine = await startEngine(t, dir);
  const dup = await engine.append('c', 0, recs(1, 'v19-'), { acks: 1, producer: { producerId: PID + 1, producerEpoch: 0, baseSequence: 9 } });
  assert.deepEqual([dup.duplicate, dup.baseOffset], [true, 19]);
  const older = await engine.append('c', 0, recs(1, 'v10-'), { acks: 1, producer: { producerId: PID, producerEpoch: 0, baseSequence: 5 } });
  assert.deepEqual([older.duplicate, older.baseOffset], [true, 10], 'replay keeps the last 5 batches of each producer');
  assert.equal(engine.partitionLog('c', 0)!.highWatermark, 20);
});

test('engine: a crash that cut the tail drops the snapshots past it; the lost batch is appended again, in sequence', async (t) => {
  const dir = tempDir(t);
  let engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'cut' });
  for (let i = 0; i < 5; i++) await engine.append('cut', 0, recs(1, `v${i}-`), { acks: 1, producer: { producerId: PID, producerEpoch: 0, baseSequence: i } });
  await engine.close();
  const partitionDir = join(dir, 'cut-0');
  const file = join(partitionDir, '00000000000000000000.log');
  truncateSync(file, statSync(file).size - 5); // the last batch is torn
  writeFileSync(join(partitionDir, '00000000000000000000.snapshot'), encodeSnapshot([])); // an older snapshot, empty
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  engine = await startEngine(t, dir);
  assert.deepEqual(snapshots(partitionDir), ['00000000000000000000.snapshot'], 'the snapshot at offset 5 is past the recovered end (4)');
  assert.equal(engine.partitionLog('cut', 0)!.highWatermark, 4);
  const dup = await engine.append('cut', 0, recs(1, 'v3-'), { acks: 1, producer: { producerId: PID, producerEpoch: 0, baseSequence: 3 } });
  assert.deepEqual([dup.duplicate, dup.baseOffset], [true, 3]);
  const lost = await engine.append('cut', 0, recs(1, 'v4-'), { acks: 1, producer: { producerId: PID, producerEpoch: 0, baseSequence: 4 } });
  assert.deepEqual([lost.duplicate, lost.baseOffset], [undefined, 4]);
  assert.deepEqual(await readAllValues(engine, 'cut'), ['v0-0', 'v1-0', 'v2-0', 'v3-0', 'v4-0']);
});
