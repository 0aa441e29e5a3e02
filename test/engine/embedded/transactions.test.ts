import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import { decodeTxnIndex } from '../../../src/engine/embedded/transaction-index';
import { loadPartitionTransactions } from '../../../src/engine/embedded/transaction-loader';
import type { IsolationLevel } from '../../../src/engine/storage-engine';
import { rec, startEngine, tempDir } from './helpers';

async function values(engine: EmbeddedEngine, isolationLevel: IsolationLevel, topic = 't'): Promise<string[]> {
  const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel });
  return res.partitions[0]!.records.map((r) => r.value!.toString());
}

function txn(producerId: number, producerEpoch: number, baseSequence: number) {
  return { acks: -1 as const, producer: { producerId, producerEpoch, baseSequence }, transactional: true };
}

function marker(producerId: number, producerEpoch: number, commit: boolean, topic = 't') {
  return { topic, partition: 0, producerId, producerEpoch, commit, coordinatorEpoch: 0 };
}

test('open transactions hold the last stable offset; markers release it; aborted batches are skipped by read_committed only', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 't', partitions: 1 });
  await engine.append('t', 0, [rec('plain')], { acks: -1 });
  await engine.append('t', 0, [rec('a1'), rec('a2')], txn(7, 0, 0));
  await engine.append('t', 0, [rec('b1')], txn(8, 0, 0));
  const log = engine.partitionLog('t', 0)!;
  assert.equal(log.lastStableOffset, 1);
  assert.deepEqual(await values(engine, 'read_committed'), ['plain']);
  await engine.writeTxnMarkers([marker(7, 0, false)]);
  // Producer 8 is still open at offset 3.
  assert.equal(log.lastStableOffset, 3);
  assert.deepEqual(await values(engine, 'read_committed'), ['plain']);
  await engine.writeTxnMarkers([marker(8, 0, true)]);
  assert.equal(log.lastStableOffset, log.highWatermark);
  assert.deepEqual(await values(engine, 'read_committed'), ['plain', 'b1']);
  assert.deepEqual(await values(engine, 'read_uncommitted'), ['plain', 'a1', 'a2', 'b1']);
  assert.equal((await engine.listOffset('t', 0, 'latest', 'read_committed')).offset, log.highWatermark);
  // A repeated marker is harmless: nothing a reader sees changes.
  await engine.writeTxnMarkers([marker(8, 0, true)]);
  assert.deepEqual(await values(engine, 'read_committed'), ['plain', 'b1']);
});

test('a marker of a newer epoch fences the old session; an older epoch marker is refused', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 't', partitions: 1 });
  await engine.append('t', 0, [rec('old')], txn(3, 4, 0));
  await engine.writeTxnMarkers([marker(3, 5, false)]);
  await assert.rejects(engine.append('t', 0, [rec('late')], txn(3, 4, 1)), { code: 'INVALID_PRODUCER_EPOCH' });
  await assert.rejects(engine.writeTxnMarkers([marker(3, 4, true)]), { code: 'PRODUCER_FENCED' });
  await engine.append('t', 0, [rec('new')], txn(3, 6, 0));
  await engine.writeTxnMarkers([marker(3, 6, true)]);
  assert.deepEqual(await values(engine, 'read_committed'), ['new']);
});

test('open and aborted transactions are rebuilt from the log at start, after a clean close and after a crash', async (t) => {
  const dir = tempDir(t);
  const first = await startEngine(t, dir);
  await first.createTopic({ name: 't', partitions: 1 });
  await first.append('t', 0, [rec('aborted')], txn(1, 0, 0));
  await first.writeTxnMarkers([marker(1, 0, false)]);
  await first.append('t', 0, [rec('committed')], txn(1, 1, 0));
  await first.writeTxnMarkers([marker(1, 1, true)]);
  await first.append('t', 0, [rec('open')], txn(2, 0, 0));
  const openAt = first.partitionLog('t', 0)!.highWatermark - 1;
  await first.close();

  const second = await startEngine(t, dir);
  assert.equal(second.partitionLog('t', 0)!.lastStableOffset, openAt);
  assert.deepEqual(await values(second, 'read_committed'), ['committed']);
  // A second process on the same files without a close: the start-up after a crash.
  const crashed = await startEngine(t, dir);
  assert.equal(crashed.partitionLog('t', 0)!.lastStableOffset, openAt);
  assert.deepEqual(await values(crashed, 'read_committed'), ['committed']);
  await crashed.writeTxnMarkers([marker(2, 0, true)]);
  assert.deepEqual(await values(crashed, 'read_committed'), ['committed', 'open']);
});

test('a clean close saves the aborted transactions as Kafka .txnindex files and the open ones in a checkpoint, loaded at start without a replay', async (t) => {
  const dir = tempDir(t);
  const first = await startEngine(t, dir);
  await first.createTopic({ name: 't', partitions: 1 });
  await first.append('t', 0, [rec('x1'), rec('x2')], txn(11, 0, 0));
  await first.writeTxnMarkers([marker(11, 0, false)]);
  await first.append('t', 0, [rec('open')], txn(12, 0, 0));
  await first.close();

  const partitionDir = join(dir, 't-0');
  const index = readFileSync(join(partitionDir, '00000000000000000000.txnindex'));
  assert.equal(index.length, 34, 'one AbortedTxn entry');
  assert.deepEqual(decodeTxnIndex(index), [{ producerId: 11, firstOffset: 0, lastOffset: 2, lastStableOffset: 3 }]);

  const second = await startEngine(t, dir);
  const log = second.partitionLog('t', 0)!;
  assert.equal(log.lastStableOffset, 3);
  assert.deepEqual(await values(second, 'read_committed'), []);
  // The saved state describes the log end, so a load takes it as it is.
  assert.equal(await loadPartitionTransactions(log), 'saved');
  await second.append('t', 0, [rec('more')], txn(12, 0, 1));
  await second.writeTxnMarkers([marker(12, 0, true)]);
  assert.deepEqual(await values(second, 'read_committed'), ['open', 'more']);
  // Past the saved offset the state must come from the log again.
  assert.equal(await loadPartitionTransactions(log), 'replayed');
  assert.deepEqual(await values(second, 'read_committed'), ['open', 'more']);
  assert.equal(log.lastStableOffset, log.highWatermark);
});
