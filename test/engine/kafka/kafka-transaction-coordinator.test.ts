import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { isTransactionError, type TransactionErrorCode } from '../../../src/coordinator/transaction/transaction-error';
import type { TransactionMetadata } from '../../../src/coordinator/transaction/transaction-metadata';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaTransactionCoordinator } from '../../../src/engine/kafka/kafka-transaction-coordinator';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { record } from '../../engine-suite/suite-helpers';
import { rawRecords } from './kafka-raw-records';
import { isCoordinatorError } from '../../../src/coordinator/group/coordinator-error';
import { handMember, joinAndSync, topicAssignment } from '../../engine-suite/group-helpers';
import { MOCK_GROUP_SETTINGS } from './kafka-group-fixture';

/**
 * KafkaTransactionCoordinator against the mock cluster (3 brokers). The mock answers InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn, but writes no markers and commits
 * no transactional offsets, and does not announce WriteTxnMarkers: by default the coordinator
 * refuses it (TRANSACTIONS_UNSUPPORTED); with `requireMarkers: false` the protocol is driven anyway,
 * and what is checked is Basket's side of it (requests accepted, batches marked with the session's
 * producer, states, fencing, timeouts, retries of the coordinator's transient answers).
 */
const ADD_PARTITIONS_TO_TXN = 24;
const END_TXN = 26;
const TEST_TIMEOUT = { timeout: 30_000 };
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function rejectsWithTxn(promise: Promise<unknown>, code: TransactionErrorCode): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isTransactionError(err), `expected TransactionError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

describe('kafka transaction coordinator', () => {
  let mock: MockCluster;
  let engine: KafkaEngine;
  let coordinator: KafkaTransactionCoordinator;
  let n = 0;
  const topic = async () => {
    const name = `txn-${++n}`;
    await mock.createTopic(name, 2, 3);
    return name;
  };
  const append = (meta: TransactionMetadata, t: string, partition: number, values: string[], baseSequence = 0) =>
    engine.append(t, partition, values.map((v) => record(v)), {
      acks: 1,
      producer: { producerId: meta.producerId, producerEpoch: meta.producerEpoch, baseSequence },
      transactional: true,
      transactionalId: meta.transactionalId,
    });

  before(async () => {
    mock = await MockCluster.start(3);
    engine = new KafkaEngine({ brokers: mock.brokers, clientId: 'txn-test', connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 3000 } }, logger);
    await engine.start();
    coordinator = engine.transactionCoordinator({ requireMarkers: false, abortCheckIntervalMs: 50 });
    await coordinator.start();
  });
  after(async () => {
    await coordinator.close();
    await engine.close();
    await mock.stop();
  });

  test('a cluster that does not announce WriteTxnMarkers is refused at once, naming the API; every call answers so', TEST_TIMEOUT, async () => {
    const strict = engine.transactionCoordinator();
    try {
      const started = Date.now();
      const err = await rejectsWithTxn(strict.start(), 'TRANSACTIONS_UNSUPPORTED');
      assert.match(err.message, /WriteTxnMarkers API \(key 27\)/);
      await rejectsWithTxn(strict.begin({}), 'TRANSACTIONS_UNSUPPORTED');
      assert.throws(() => strict.describe('anything'), (e: unknown) => isTransactionError(e, 'TRANSACTIONS_UNSUPPORTED'));
      assert.ok(Date.now() - started < 5000, 'no retries spent on a missing API');
    } finally {
      await strict.close();
    }
  });

  test('begin, records, offsets, commit: each step accepted by Kafka, the batches marked with the session', TEST_TIMEOUT, async () => {
    const t = await topic();
    const meta = await coordinator.begin({ transactionalId: 'orders-tx', partitions: [{ topic: t, partition: 0 }] });
    assert.equal(meta.state, 'Ongoing');
    assert.ok(meta.producerId > 0);
    await append(meta, t, 0, ['a', 'b']);
    const grown = await coordinator.addPartitions(meta.transactionId, [{ topic: t, partition: 1 }, { topic: t, partition: 0 }]);
    assert.deepEqual(grown.partitions, [{ topic: t, partition: 0 }, { topic: t, partition: 1 }]);
    await append(meta, t, 1, ['c']);
    await append(meta, t, 0, ['d'], 2);
    const withOffsets = await coordinator.addOffsets(meta.transactionId, { groupId: 'billing', memberId: '', generationId: -1, offsets: [{ topic: t, partition: 0, offset: 5, metadata: '' }] });
    assert.deepEqual(withOffsets.pendingOffsets, [{ groupId: 'billing', offsets: [{ topic: t, partition: 0, offset: 5, metadata: '' }] }]);
    const done = await coordinator.end(meta.transactionId, true, { key: 'k1', answer: { n: 1 } });
    assert.equal(done.state, 'CompleteCommit');
    assert.equal(coordinator.describe(meta.transactionId).state, 'CompleteCommit');
    assert.equal(coordinator.byTransactionalId('orders-tx')?.transactionId, meta.transactionId);
    const stored = await rawRecords(mock.brokers, t, 0);
    assert.deepEqual(stored.map((r) => [r.value, r.producerId, r.producerEpoch, r.firstSequence, r.inTransaction]), [
      ['a', String(meta.producerId), meta.producerEpoch, 0, true],
      ['b', String(meta.producerId), meta.producerEpoch, 0, true],
      ['d', String(meta.producerId), meta.producerEpoch, 2, true],
    ]);
    // A retried commit with the same key gets the same answer; the transaction is not open any more.
    assert.equal((await coordinator.end(meta.transactionId, true, { key: 'k1' })).state, 'CompleteCommit');
    await rejectsWithTxn(coordinator.addPartitions(meta.transactionId, [{ topic: t, partition: 0 }]), 'INVALID_TXN_STATE');
    await rejectsWithTxn(coordinator.end(meta.transactionId, false), 'INVALID_TXN_STATE');
  });

  test('abort ends the transaction; a generated transactional id is forgotten but still described', TEST_TIMEOUT, async () => {
    const t = await topic();
    const meta = await coordinator.begin({ partitions: [{ topic: t, partition: 0 }] });
    assert.equal(meta.generated, true);
    await append(meta, t, 0, ['x']);
    const done = await coordinator.end(meta.transactionId, false, { key: 'abort-1' });
    assert.equal(done.state, 'CompleteAbort');
    assert.equal(coordinator.byTransactionalId(meta.transactionalId), undefined);
    assert.equal(coordinator.describe(meta.transactionId).state, 'CompleteAbort');
    assert.equal((await coordinator.end(meta.transactionId, false, { key: 'abort-1' })).state, 'CompleteAbort', 'a keyed retry is answered');
  });

  test('a new session of the transactional id fences the open one', TEST_TIMEOUT, async () => {
    const t = await topic();
    const first = await coordinator.begin({ transactionalId: 'fence-me', partitions: [{ topic: t, partition: 0 }] });
    const second = await coordinator.begin({ transactionalId: 'fence-me' });
    assert.notEqual(second.transactionId, first.transactionId);
    await rejectsWithTxn(coordinator.addPartitions(first.transactionId, [{ topic: t, partition: 1 }]), 'PRODUCER_FENCED');
    await rejectsWithTxn(coordinator.end(first.transactionId, true), 'PRODUCER_FENCED');
    await coordinator.addPartitions(second.transactionId, [{ topic: t, partition: 1 }]);
    assert.equal((await coordinator.end(second.transactionId, true)).state, 'CompleteCommit');
  });

  test("Kafka's fenced answer ends the session with PRODUCER_FENCED", TEST_TIMEOUT, async () => {
    const t = await topic();
    const meta = await coordinator.begin({ transactionalId: 'fenced-by-kafka' });
    await mock.pushRequestErrors(ADD_PARTITIONS_TO_TXN, 'INVALID_PRODUCER_EPOCH', 1);
    await rejectsWithTxn(coordinator.addPartitions(meta.transactionId, [{ topic: t, partition: 0 }]), 'PRODUCER_FENCED');
    await rejectsWithTxn(coordinator.end(meta.transactionId, false), 'PRODUCER_FENCED');
  });

  test('CONCURRENT_TRANSACTIONS and a moved coordinator are retried', TEST_TIMEOUT, async () => {
    const t = await topic();
    const meta = await coordinator.begin({ transactionalId: 'busy' });
    await mock.pushRequestErrors(ADD_PARTITIONS_TO_TXN, 'NOT_COORDINATOR', 1);
    await coordinator.addPartitions(meta.transactionId, [{ topic: t, partition: 0 }]);
    await mock.pushRequestErrors(END_TXN, 'CONCURRENT_TRANSACTIONS', 3);
    assert.equal((await coordinator.end(meta.transactionId, true)).state, 'CompleteCommit');
  });

  test('an open transaction past its timeout is aborted here and reports TRANSACTION_EXPIRED', TEST_TIMEOUT, async () => {
    const t = await topic();
    const meta = await coordinator.begin({ transactionalId: 'slowpoke', timeoutMs: 200, partitions: [{ topic: t, partition: 0 }] });
    const deadline = Date.now() + 5000;
    while (coordinator.describe(meta.transactionId).state === 'Ongoing') {
      assert.ok(Date.now() < deadline, 'the transaction was not expired in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    const expired = coordinator.describe(meta.transactionId);
    assert.equal(expired.state, 'CompleteAbort');
    assert.equal(expired.abortReason, 'timeout');
    await rejectsWithTxn(coordinator.end(meta.transactionId, true), 'TRANSACTION_EXPIRED');
  });

  test('an ended transactional id idle past its expiration is forgotten; its transactions are still described', TEST_TIMEOUT, async () => {
    const short = engine.transactionCoordinator({ requireMarkers: false, abortCheckIntervalMs: 20, transactionalIdExpirationMs: 100 });
    await short.start();
    try {
      const meta = await short.begin({ transactionalId: 'short-lived' });
      await short.end(meta.transactionId, true);
      assert.equal(short.byTransactionalId('short-lived')?.state, 'CompleteCommit');
      const deadline = Date.now() + 5000;
      while (short.byTransactionalId('short-lived') !== undefined) {
        assert.ok(Date.now() < deadline, 'the transactional id was not forgotten in time');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(short.describe(meta.transactionId).state, 'CompleteCommit');
    } finally {
      await short.close();
    }
  });

  test("a member's offsets are checked against its group: a stale generation or an unknown member is refused", TEST_TIMEOUT, async () => {
    const t = await topic();
    const groups = engine.groupCoordinator(MOCK_GROUP_SETTINGS);
    await groups.start();
    try {
      const member = handMember('txn-readers', 'reader', [t], 4000);
      const { join } = await joinAndSync(groups, member, (ids) => [{ memberId: ids[0]!, assignment: topicAssignment(t, 2, 0, 1) }]);
      const meta = await coordinator.begin({ transactionalId: 'ctp' });
      const offsets = [{ topic: t, partition: 0, offset: 3, metadata: '' }];
      const ok = await coordinator.addOffsets(meta.transactionId, { groupId: 'txn-readers', memberId: join.memberId, generationId: join.generationId, offsets });
      assert.equal(ok.pendingOffsets.length, 1);
      const stale = await coordinator.addOffsets(meta.transactionId, { groupId: 'txn-readers', memberId: join.memberId, generationId: join.generationId + 1, offsets }).catch((e: unknown) => e);
      assert.ok(isCoordinatorError(stale, 'ILLEGAL_GENERATION'), String(stale));
      const ghost = await coordinator.addOffsets(meta.transactionId, { groupId: 'txn-readers', memberId: 'ghost', generationId: join.generationId, offsets }).catch((e: unknown) => e);
      assert.ok(isCoordinatorError(ghost, 'UNKNOWN_MEMBER_ID'), String(ghost));
      assert.equal(coordinator.describe(meta.transactionId).state, 'Ongoing', 'a refused offsets step leaves the transaction open');
      await coordinator.end(meta.transactionId, false);
    } finally {
      await groups.close();
    }
  });

  test("keyed answers are kept in Kafka's answers topic: a new coordinator (a restart) answers a keyed retry; a forgotten id is gone", TEST_TIMEOUT, async () => {
    await mock.createTopic('answers-restart', 1, 3);
    const first = engine.transactionCoordinator({ requireMarkers: false, answersTopic: 'answers-restart' });
    await first.start();
    const meta = await first.begin({ transactionalId: 'kept' });
    const committed = await first.end(meta.transactionId, true, { key: 'commit-key', answer: { offsets: [1, 2] } });
    const other = await first.begin({ transactionalId: 'dropped' });
    await first.end(other.transactionId, false, { key: 'abort-key' });
    await first.forget('dropped');
    const unkeyed = await first.begin({ transactionalId: 'unkeyed' });
    await first.end(unkeyed.transactionId, true);
    await first.close();

    const second = engine.transactionCoordinator({ requireMarkers: false, answersTopic: 'answers-restart' });
    await second.start();
    try {
      const found = second.byTransactionalId('kept');
      assert.equal(found?.state, 'CompleteCommit');
      assert.equal(found?.endKey, 'commit-key');
      assert.deepEqual(found?.answer, { offsets: [1, 2] });
      assert.deepEqual(await second.end(meta.transactionId, true, { key: 'commit-key' }), committed, 'the keyed retry gets the first answer');
      await rejectsWithTxn(second.end(meta.transactionId, false, { key: 'other-key' }), 'INVALID_TXN_STATE');
      assert.equal(second.byTransactionalId('dropped'), undefined, 'a forgotten id left a tombstone');
      assert.equal(second.byTransactionalId('unkeyed'), undefined, 'only keyed answers are kept');
    } finally {
      await second.close();
    }
  });

  test('bad requests are refused before Kafka is asked', TEST_TIMEOUT, async () => {
    await rejectsWithTxn(coordinator.begin({ timeoutMs: 0 }), 'INVALID_TRANSACTION_TIMEOUT');
    await rejectsWithTxn(coordinator.begin({ transactionalId: 'x'.repeat(256) }), 'INVALID_REQUEST');
    await rejectsWithTxn(coordinator.addPartitions('no-such-transaction', []), 'TRANSACTION_NOT_FOUND');
  });
});
