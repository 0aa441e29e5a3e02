import assert from 'node:assert/strict';
import type { IsolationLevel, StorageEngine } from '../../src/engine/storage-engine';
import type { SuiteContext } from './suite';
import { record, rejectsWith, text } from './suite-helpers';

async function read(engine: StorageEngine, topic: string, isolationLevel: IsolationLevel): Promise<{ values: Array<string | null>; nextOffset: number; lastStableOffset: number }> {
  const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel });
  const p = res.partitions[0]!;
  return { values: p.records.map((r) => text(r.value)), nextOffset: p.nextOffset, lastStableOffset: p.lastStableOffset };
}

function txn(producerId: number, producerEpoch: number, baseSequence: number) {
  return { acks: -1 as const, producer: { producerId, producerEpoch, baseSequence }, transactional: true };
}

/** Transactional appends and markers (Kafka's WriteTxnMarkers) through the StorageEngine contract. */
export function defineTransactionTests(s: SuiteContext): void {
  s.it('transactions: read_committed stops at the last stable offset until the marker, and skips aborted transactions', ['transactions'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('txn-lso');
    await createTopic(topic, 1);
    const { firstProducerId: pid } = await engine.allocateProducerIds!(2);
    await engine.append(topic, 0, [record('before')], { acks: -1 });
    await engine.append(topic, 0, [record('a1'), record('a2')], txn(pid, 0, 0));
    await engine.append(topic, 0, [record('c1')], txn(pid + 1, 0, 0));
    let committed = await read(engine, topic, 'read_committed');
    assert.deepEqual(committed.values, ['before']);
    assert.equal(committed.lastStableOffset, 1);
    assert.equal((await engine.listOffset(topic, 0, 'latest', 'read_committed')).offset, 1);
    assert.equal((await engine.listOffset(topic, 0, 'latest', 'read_uncommitted')).offset, 4);
    assert.deepEqual((await read(engine, topic, 'read_uncommitted')).values, ['before', 'a1', 'a2', 'c1']);

    await engine.writeTxnMarkers!([
      { topic, partition: 0, producerId: pid, producerEpoch: 0, commit: false, coordinatorEpoch: 0 },
      { topic, partition: 0, producerId: pid + 1, producerEpoch: 0, commit: true, coordinatorEpoch: 0 },
    ]);
    committed = await read(engine, topic, 'read_committed');
    assert.deepEqual(committed.values, ['before', 'c1']);
    const hw = (await engine.listOffset(topic, 0, 'latest')).offset;
    assert.equal(hw, 6, 'each marker takes an offset');
    assert.equal(committed.lastStableOffset, hw);
    assert.equal(committed.nextOffset, hw, 'a reader moves past markers and aborted batches');
    assert.equal((await engine.describeTopic(topic)).partitions[0]!.lastStableOffset, hw);
    assert.deepEqual((await read(engine, topic, 'read_uncommitted')).values, ['before', 'a1', 'a2', 'c1'], 'markers are never records');
  });

  s.it('transactions: a newer epoch fences the old one, for appends and markers', ['transactions'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('txn-fence');
    await createTopic(topic, 1);
    const { firstProducerId: pid } = await engine.allocateProducerIds!(1);
    await engine.append(topic, 0, [record('old')], txn(pid, 3, 0));
    await engine.writeTxnMarkers!([{ topic, partition: 0, producerId: pid, producerEpoch: 4, commit: false, coordinatorEpoch: 0 }]);
    await rejectsWith(engine.append(topic, 0, [record('late')], txn(pid, 3, 1)), 'INVALID_PRODUCER_EPOCH');
    await rejectsWith(engine.writeTxnMarkers!([{ topic, partition: 0, producerId: pid, producerEpoch: 3, commit: true, coordinatorEpoch: 0 }]), 'PRODUCER_FENCED');
    assert.deepEqual((await read(engine, topic, 'read_committed')).values, []);
  });
}
