import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectingSink, engineWithFetchCount, feedsOnTail } from './tail-fixture';
import { eventually } from './live-app';
import { PartitionFeed } from '../../src/sse/partition-feed';

// Edges of the embedded engine's append-driven tail (PartitionTailWatch): transactions, the engine closing.

const rec = (v: string) => ({ key: null, value: Buffer.from(v) });
const txn = (producerId: number, baseSequence: number) => ({ acks: 1 as const, producer: { producerId, producerEpoch: 0, baseSequence }, transactional: true });
const marker = (producerId: number, commit: boolean) => ({ topic: 'tx', partition: 0, producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });

test('read_committed through the tail: an open transaction is held back, an aborted one never delivered, a committed one delivered at its marker', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'tx', partitions: 1 });
  const { sinks, feeds } = await feedsOnTail(t, engine, 'tx', 2, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  const seen = () => sinks.map((s) => s.records.map((r) => r.record.value!.toString()));

  await engine.append('tx', 0, [rec('open1')], txn(11, 0));
  await engine.append('tx', 0, [rec('plain-after-open')], { acks: 1 });
  assert.deepEqual(seen(), [[], []], 'nothing past the open transaction');
  await engine.writeTxnMarkers!([marker(11, false)]);
  await eventually(() => sinks.every((s) => s.records.length === 1), 'the plain record once the abort is written');
  assert.deepEqual(seen(), [['plain-after-open'], ['plain-after-open']]);

  await engine.append('tx', 0, [rec('c1'), rec('c2')], txn(12, 0));
  assert.equal(sinks[0].records.length, 1);
  await engine.writeTxnMarkers!([marker(12, true)]);
  await eventually(() => sinks.every((s) => s.records.length === 3), 'the committed records');
  assert.deepEqual(seen(), [['plain-after-open', 'c1', 'c2'], ['plain-after-open', 'c1', 'c2']]);
  for (const s of sinks) assert.deepEqual(s.records.map((r) => r.offset), [1, 3, 4]);
  for (const f of feeds) f.stop();
});

test('a tail parked on the watch learns that the engine closed instead of waiting for an append that cannot come', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'closing', partitions: 1 });
  const { readers, sinks: [sink] } = await feedsOnTail(t, engine, 'closing', 1, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  await engine.close();
  await eventually(() => sink.failed !== undefined || readers.size === 0, 'the tail to end');
  assert.equal(sink.failed?.code, 'ENGINE_CLOSED');
});

test('every subscriber leaving during the hand-out in the writer\'s turn ends the tail cleanly; a later one gets a new tail', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'leave', partitions: 1 });
  const { readers, sinks, feeds } = await feedsOnTail(t, engine, 'leave', 3, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  sinks[0].onDeliver = () => {
    for (const f of feeds) f.stop();
  };
  const first = await engine.append('leave', 0, [rec('a')], { acks: 1 });
  assert.equal(first.baseOffset, 0);
  assert.equal(readers.size, 0, 'the tail is dropped with its last subscriber');
  assert.deepEqual(sinks.map((s) => s.records.length), [1, 0, 0], 'the first had the record when it left; the others left before theirs');
  assert.equal((await engine.append('leave', 0, [rec('b')], { acks: 1 })).baseOffset, 1, 'appends go on with no listener left');

  const late = new CollectingSink();
  const feed = new PartitionFeed(late, 0, 'leave', 0, 2, { engine, readers, isolationLevel: 'read_committed', catchUpBytes: 1 << 20 });
  feed.start();
  await eventually(() => feed.tailing, 'the new feed on a new tail');
  await engine.append('leave', 0, [rec('c')], { acks: 1 });
  assert.deepEqual(late.records.map((r) => [r.offset, r.record.value!.toString()]), [[2, 'c']]);
  feed.stop();
});
