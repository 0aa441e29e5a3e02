import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import type { TxnMarker } from '../../src/engine/storage-engine';
import { EmbeddedTransactionCoordinator } from '../../src/coordinator/transaction/embedded-transaction-coordinator';
import { EmbeddedGroupCoordinator } from '../../src/coordinator/group/embedded-group-coordinator';
import { KafkaEngine } from '../../src/engine/kafka/kafka-engine';
import { isTransition, VALID_PREVIOUS_STATES, type TransactionStateName } from '../../src/coordinator/transaction/transaction-metadata';
import { defer, rec, silentLogger, tempDir } from '../engine/embedded/helpers';

/** An engine whose marker writes fail while `failMarkers` is set: a crash between the decision and the markers. */
class FlakyMarkers extends EmbeddedEngine {
  failMarkers = false;
  override async writeTxnMarkers(markers: TxnMarker[]): Promise<void> {
    if (this.failMarkers) throw new Error('disk unplugged');
    return super.writeTxnMarkers(markers);
  }
}

async function open(dir: string) {
  const engine = new FlakyMarkers({ dataDir: dir, retentionCheckIntervalMs: 3_600_000 }, silentLogger);
  await engine.start();
  const groups = new EmbeddedGroupCoordinator(engine, {}, silentLogger);
  const txns = new EmbeddedTransactionCoordinator(engine, groups, {}, silentLogger);
  await txns.start();
  return {
    engine,
    groups,
    txns,
    async close() {
      await txns.close();
      await groups.close();
      await engine.close();
    },
  };
}

async function committedValues(engine: EmbeddedEngine, topic: string): Promise<string[]> {
  const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
  return res.partitions[0]!.records.map((r) => r.value!.toString());
}

test('the state table: each state is entered only from its listed previous states', () => {
  const states = Object.keys(VALID_PREVIOUS_STATES) as TransactionStateName[];
  assert.equal(isTransition('Ongoing', 'PrepareCommit'), true);
  assert.equal(isTransition('Empty', 'PrepareCommit'), false);
  assert.equal(isTransition('CompleteCommit', 'PrepareAbort'), false);
  assert.equal(isTransition('PrepareCommit', 'CompleteAbort'), false);
  assert.equal(isTransition('CompleteAbort', 'Ongoing'), true);
  for (const to of states) for (const from of VALID_PREVIOUS_STATES[to]) assert.ok(states.includes(from));
});

test('a restart completes a decided commit (markers and offsets) and aborts an open transaction, releasing its partitions', async (t) => {
  const dir = tempDir(t);
  const first = await open(dir);
  await first.engine.createTopic({ name: 'a', partitions: 1 });
  await first.engine.createTopic({ name: 'b', partitions: 1 });

  const decided = await first.txns.begin({ transactionalId: 'decided' });
  await first.txns.addPartitions(decided.transactionId, [{ topic: 'a', partition: 0 }]);
  await first.engine.append('a', 0, [rec('committed')], { acks: -1, producer: { producerId: decided.producerId, producerEpoch: decided.producerEpoch, baseSequence: 0 }, transactional: true });
  await first.txns.addOffsets(decided.transactionId, { groupId: 'g', memberId: '', generationId: -1, offsets: [{ topic: 'in', partition: 0, offset: 42, metadata: '' }] });

  const open_ = await first.txns.begin({ transactionalId: 'open' });
  await first.txns.addPartitions(open_.transactionId, [{ topic: 'b', partition: 0 }]);
  await first.engine.append('b', 0, [rec('never')], { acks: -1, producer: { producerId: open_.producerId, producerEpoch: open_.producerEpoch, baseSequence: 0 }, transactional: true });

  first.engine.failMarkers = true;
  await assert.rejects(first.txns.end(decided.transactionId, true), { code: 'COORDINATOR_NOT_AVAILABLE' });
  assert.equal(first.txns.describe(decided.transactionId).state, 'PrepareCommit');
  assert.deepEqual(await committedValues(first.engine, 'a'), []);
  assert.equal((await first.groups.fetchOffsets('g', [{ topic: 'in', partition: 0 }]))[0]!.offset, -1);
  await first.close();

  const second = await open(dir);
  defer(t, () => second.close());
  assert.equal(second.txns.describe(decided.transactionId).state, 'CompleteCommit');
  assert.deepEqual(await committedValues(second.engine, 'a'), ['committed']);
  assert.equal((await second.groups.fetchOffsets('g', [{ topic: 'in', partition: 0 }]))[0]!.offset, 42);
  const aborted = second.txns.describe(open_.transactionId);
  assert.equal(aborted.state, 'CompleteAbort');
  assert.equal(aborted.abortReason, 'restart');
  const b = second.engine.partitionLog('b', 0)!;
  assert.equal(b.lastStableOffset, b.highWatermark);
  assert.deepEqual(await committedValues(second.engine, 'b'), []);
  // The next session of the aborted id is fenced past the epoch the abort used.
  const next = await second.txns.begin({ transactionalId: 'open' });
  assert.ok(next.producerEpoch > aborted.producerEpoch);
});

test('an engine without transaction markers is told plainly: TRANSACTIONS_UNSUPPORTED, nothing written', async () => {
  // Never started: the coordinator must refuse before it touches the engine.
  const kafka = new KafkaEngine({ brokers: ['127.0.0.1:1'] }, silentLogger);
  const txns = new EmbeddedTransactionCoordinator(kafka, undefined, {}, silentLogger);
  await assert.rejects(txns.start(), { code: 'TRANSACTIONS_UNSUPPORTED' });
  await assert.rejects(txns.begin({}), { code: 'TRANSACTIONS_UNSUPPORTED' });
  await txns.close();
});
