import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { record, rejectsWith } from '../../engine-suite/suite-helpers';
import { producerHeader, rawRecords } from './kafka-raw-records';
import { mockEngineFixture } from './kafka-mock-engine';

/**
 * Idempotent produce on the kafka engine, against the mock cluster (one broker, id 1). What is
 * checked is the engine's side of Kafka's protocol: which producer id, epoch and sequence each
 * batch carries, which errors are retried with the same batch and which under a fresh producer id.
 * The mock keeps no producer state (it appends a repeated batch again, measured with librdkafka
 * 2.0.2), so Kafka's dedup itself is not exercised: a resent batch shows up twice in its log, with
 * the identical header a Kafka broker drops the repeat by.
 */
const PRODUCE = 0;
const INIT_PRODUCER_ID = 22;
const TEST_TIMEOUT = { timeout: 30_000 };
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function options(brokers: string[], extra: Partial<KafkaEngineOptions> = {}): KafkaEngineOptions {
  return { brokers, clientId: 'idempotence-test', connectionTimeout: 500, requestTimeout: 3000, retry: { retries: 4, initialRetryTime: 50, maxRetryTime: 6000 }, fetchMaxWaitMs: 200, ...extra };
}

describe('kafka engine: idempotent produce', () => {
  const fixture = mockEngineFixture('idem', (brokers) => options(brokers), logger);
  const topic = (partitions = 1) => fixture.topic(partitions);

  test('acks=all appends carry a producer id from InitProducerId and consecutive sequences per partition; acks=1 appends carry none', TEST_TIMEOUT, async () => {
    const t = await topic(2);
    await fixture.engine.append(t, 0, [record('a'), record('b')], { acks: -1 });
    await fixture.engine.append(t, 1, [record('x')], { acks: -1 });
    await fixture.engine.append(t, 0, [record('c')], { acks: -1 });
    await fixture.engine.append(t, 0, [record('plain')], { acks: 1 });
    const p0 = await rawRecords(fixture.mock.brokers, t, 0);
    const p1 = await rawRecords(fixture.mock.brokers, t, 1);
    const pid = p0[0]!.producerId;
    assert.notEqual(pid, '-1', 'the batch names a producer');
    assert.deepEqual(p0.map((r) => [r.value, producerHeader(r)]), [
      ['a', `${pid}/0/0`],
      ['b', `${pid}/0/0`],
      ['c', `${pid}/0/2`],
      ['plain', '-1/0/0'],
    ]);
    assert.deepEqual(p1.map((r) => [r.value, producerHeader(r)]), [['x', `${pid}/0/0`]], 'one producer, its own sequence per partition');
    assert.ok(p0.every((r) => !r.inTransaction));
  });

  test('an append answered REQUEST_TIMED_OUT is sent again with the same batch, and succeeds', TEST_TIMEOUT, async () => {
    const t = await topic();
    await fixture.mock.pushRequestErrors(PRODUCE, 'REQUEST_TIMED_OUT', 2);
    const result = await fixture.engine.append(t, 0, [record('once')], { acks: -1 });
    assert.equal(result.baseOffset, 0);
    const stored = await rawRecords(fixture.mock.brokers, t, 0);
    assert.deepEqual(stored.map((r) => r.value), ['once'], 'the mock refused the first two sends, the third landed');
  });

  test('an answer lost after the append: the engine resends the identical batch instead of failing', TEST_TIMEOUT, async () => {
    // A cluster of its own: the late answer holds up its connection, and what is queued behind it.
    const own = await MockCluster.start(1);
    const slow = new KafkaEngine(options(own.brokers, { requestTimeout: 400 }), logger);
    await slow.start();
    try {
      const t = 'lost-answer';
      await own.createTopic(t, 1, 1);
      await slow.append(t, 0, [record('first')], { acks: -1 });
      // The next Produce is appended but answered after 1.2 s, past the 400 ms request timeout.
      await own.brokerError(1, PRODUCE, 0, 1200);
      const result = await slow.append(t, 0, [record('second')], { acks: -1 });
      const stored = await rawRecords(own.brokers, t, 0);
      const copies = stored.filter((r) => r.value === 'second');
      assert.ok(copies.length >= 2, `the batch was sent again after the timeout (copies: ${copies.length})`);
      assert.equal(new Set(copies.map(producerHeader)).size, 1, 'every copy has the same producer id, epoch and sequence: Kafka keeps the first and answers the rest with its offset');
      assert.equal(copies[0]!.firstSequence, 1);
      assert.ok(result.baseOffset >= 1);
    } finally {
      await slow.close();
      await own.stop();
    }
  });

  for (const error of ['UNKNOWN_PRODUCER_ID', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH'] as const) {
    test(`${error}: the producer is retired and the batch goes once more under a fresh producer id`, TEST_TIMEOUT, async () => {
      const t = await topic();
      await fixture.engine.append(t, 0, [record('before')], { acks: -1 });
      const retired = fixture.engine.producers!.retired;
      await fixture.mock.pushRequestErrors(PRODUCE, error, 1);
      await fixture.engine.append(t, 0, [record('after')], { acks: -1 });
      const [before, afterIt] = await rawRecords(fixture.mock.brokers, t, 0);
      assert.equal(fixture.engine.producers!.retired, retired + 1);
      assert.notEqual(afterIt!.producerId, before!.producerId);
      assert.equal(afterIt!.firstSequence, 0, 'a fresh producer starts at sequence 0');
    });
  }

  test('the same refusal twice in a row goes back to the caller, not round again', TEST_TIMEOUT, async () => {
    const t = await topic();
    await fixture.mock.pushRequestErrors(PRODUCE, 'UNKNOWN_PRODUCER_ID', 2);
    await rejectsWith(fixture.engine.append(t, 0, [record('never')], { acks: -1 }), 'UNKNOWN_PRODUCER_ID');
    assert.deepEqual(await rawRecords(fixture.mock.brokers, t, 0), []);
  });

  test("an append with the caller's producer identity carries it as is; Kafka's refusals go back to the caller", TEST_TIMEOUT, async () => {
    const t = await topic();
    const producer = { producerId: 4242, producerEpoch: 3, baseSequence: 7 };
    await fixture.engine.append(t, 0, [record('mine')], { acks: -1, producer });
    const [stored] = await rawRecords(fixture.mock.brokers, t, 0);
    assert.equal(producerHeader(stored!), '4242/3/7');
    assert.equal(stored!.inTransaction, false);
    await rejectsWith(fixture.engine.append(t, 0, [record('no id')], { acks: -1, producer, transactional: true }), 'INVALID_REQUEST');
    await fixture.mock.pushRequestErrors(PRODUCE, 'INVALID_PRODUCER_EPOCH', 1);
    await rejectsWith(fixture.engine.append(t, 0, [record('fenced')], { acks: -1, producer: { ...producer, baseSequence: 8 } }), 'INVALID_PRODUCER_EPOCH');
    assert.equal((await rawRecords(fixture.mock.brokers, t, 0)).length, 1);
  });

  test('a cluster that refuses producer ids: appends go without one, and still succeed', TEST_TIMEOUT, async () => {
    const fresh = new KafkaEngine(options(fixture.mock.brokers), logger);
    await fresh.start();
    try {
      const t = await topic();
      await fixture.mock.pushRequestErrors(INIT_PRODUCER_ID, 'CLUSTER_AUTHORIZATION_FAILED', 1);
      await fresh.append(t, 0, [record('plain')], { acks: -1 });
      await fresh.append(t, 0, [record('still plain')], { acks: -1 });
      assert.deepEqual((await rawRecords(fixture.mock.brokers, t, 0)).map((r) => r.producerId), ['-1', '-1'], 'no second InitProducerId within the backoff');
    } finally {
      await fresh.close();
    }
  });
});
