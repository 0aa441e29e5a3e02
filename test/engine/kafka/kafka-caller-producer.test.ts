import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import type { ProducerBatchIdentity } from '../../../src/engine/storage-engine';
import { fromEngineError } from '../../../src/errors';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { record, rejectsWith } from '../../engine-suite/suite-helpers';
import { producerHeader, rawRecords } from './kafka-raw-records';
import { mockEngineFixture } from './kafka-mock-engine';

/**
 * Appends under a caller's own producer identity on the kafka engine (the identity a keyed produce
 * derives from its Idempotency-Key: an id in a high range Kafka never hands out, epoch 0, sequence 0
 * per partition), against the mock cluster. Checked: the batch on the wire carries exactly that
 * identity, whatever the acks; a batch in doubt after a dropped connection is resent identical;
 * Kafka's refusals reach the caller with their code, explained, and are not retried under another
 * id. The mock keeps no producer state, so it appends every resend: that Kafka answers the repeat
 * with the first offsets instead is the compliance suite's `producerDedup`, shown on the embedded
 * engine (see src/engine/kafka/README.md for the broker code it rests on).
 */
const PRODUCE = 0;
const TEST_TIMEOUT = { timeout: 30_000 };
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** 2^52 plus 48 bits, as a keyed request's derived id: a safe integer above every id Kafka hands out. */
const KEYED_ID = 2 ** 52 + 0xa1b2_c3d4_e5f6;

function options(brokers: string[], extra: Partial<KafkaEngineOptions> = {}): KafkaEngineOptions {
  return { brokers, clientId: 'caller-producer-test', connectionTimeout: 500, requestTimeout: 3000, retry: { retries: 4, initialRetryTime: 50, maxRetryTime: 6000 }, fetchMaxWaitMs: 200, ...extra };
}

function identity(id: number, baseSequence = 0): ProducerBatchIdentity {
  return { producerId: id, producerEpoch: 0, baseSequence };
}

/** Polls `check` until it holds, at most `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("kafka engine: appends under the caller's producer identity", () => {
  const fixture = mockEngineFixture('caller-pid', (brokers) => options(brokers), logger);
  const topic = (partitions = 1) => fixture.topic(partitions);

  test('the engine says it honours caller-chosen producer ids', () => {
    assert.equal(fixture.engine.honoursCallerProducerIds, true);
  });

  test('an id above 2^52 at sequence 0 arrives as given, on each partition and whatever the acks', TEST_TIMEOUT, async () => {
    const t = await topic(2);
    const all = await fixture.engine.append(t, 0, [record('a'), record('b')], { acks: -1, producer: identity(KEYED_ID) });
    const one = await fixture.engine.append(t, 1, [record('x')], { acks: 1, producer: identity(KEYED_ID) });
    await fixture.engine.append(t, 0, [record('c')], { acks: -1, producer: identity(KEYED_ID + 1, 5) });
    assert.deepEqual([all.baseOffset, all.lastOffset, one.baseOffset], [0, 1, 0]);
    const p0 = await rawRecords(fixture.mock.brokers, t, 0);
    const p1 = await rawRecords(fixture.mock.brokers, t, 1);
    assert.equal(String(KEYED_ID), (2n ** 52n + 0xa1b2_c3d4_e5f6n).toString(), 'the id is exact as a JS number');
    assert.deepEqual(p0.map((r) => [r.value, producerHeader(r), r.inTransaction]), [
      ['a', `${KEYED_ID}/0/0`, false],
      ['b', `${KEYED_ID}/0/0`, false],
      ['c', `${KEYED_ID + 1}/0/5`, false],
    ]);
    assert.deepEqual(p1.map((r) => [r.value, producerHeader(r)]), [['x', `${KEYED_ID}/0/0`]]);
  });

  test('an identity outside Kafka\'s int64/int16/int32 fields is refused before anything is sent', TEST_TIMEOUT, async () => {
    const t = await topic();
    for (const bad of [
      { producerId: 2 ** 53, producerEpoch: 0, baseSequence: 0 },
      { producerId: -1, producerEpoch: 0, baseSequence: 0 },
      { producerId: 1.5, producerEpoch: 0, baseSequence: 0 },
      { producerId: KEYED_ID, producerEpoch: 0x8000, baseSequence: 0 },
      { producerId: KEYED_ID, producerEpoch: 0, baseSequence: 2 ** 31 },
    ]) {
      await rejectsWith(fixture.engine.append(t, 0, [record('bad')], { acks: -1, producer: bad }), 'INVALID_REQUEST');
    }
    assert.deepEqual(await rawRecords(fixture.mock.brokers, t, 0), []);
  });

  test('retriable refusals (REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER) are retried with the identical batch', TEST_TIMEOUT, async () => {
    const t = await topic();
    await fixture.mock.pushRequestErrors(PRODUCE, 'REQUEST_TIMED_OUT', 1);
    await fixture.mock.pushRequestErrors(PRODUCE, 'NOT_LEADER_FOR_PARTITION', 1);
    const result = await fixture.engine.append(t, 0, [record('once'), record('twice')], { acks: -1, producer: identity(KEYED_ID, 3) });
    assert.deepEqual([result.baseOffset, result.lastOffset], [0, 1]);
    const stored = await rawRecords(fixture.mock.brokers, t, 0);
    assert.deepEqual(stored.map((r) => [r.value, producerHeader(r)]), [
      ['once', `${KEYED_ID}/0/3`],
      ['twice', `${KEYED_ID}/0/3`],
    ]);
  });

  const refusals = [
    ['DUPLICATE_SEQUENCE_NUMBER', 'DUPLICATE_SEQUENCE_NUMBER', /already has the batch of producer \d+ epoch 0 sequences 0\.\.1 on caller-pid-\d+-0 and did not say at which offsets/],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'OUT_OF_ORDER_SEQUENCE_NUMBER', /neither follow nor repeat the producer's last batches there/],
    ['UNKNOWN_PRODUCER_ID', 'UNKNOWN_PRODUCER_ID', /no longer knows the producer of producer \d+/],
    ['INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_EPOCH', /knows a newer epoch of that producer id/],
    ['CLUSTER_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED', /wants the IdempotentWrite permission/],
  ] as const;
  for (const [kafkaError, code, explained] of refusals) {
    test(`${kafkaError}: goes back to the caller as ${code}, explained, not resent under another id`, TEST_TIMEOUT, async () => {
      const t = await topic();
      const retired = fixture.engine.producers!.retired;
      await fixture.mock.pushRequestErrors(PRODUCE, kafkaError, 1);
      const error = await rejectsWith(fixture.engine.append(t, 0, [record('r1'), record('r2')], { acks: -1, producer: identity(KEYED_ID) }), code);
      assert.match(error.message, explained);
      assert.ok(error.message.includes(String(KEYED_ID)), error.message);
      assert.equal(error.retriable, false);
      assert.deepEqual(await rawRecords(fixture.mock.brokers, t, 0), [], 'nothing was sent again');
      assert.equal(fixture.engine.producers!.retired, retired, "the engine's own producers are not involved");
      const api = fromEngineError(error);
      assert.equal(api.errorCode, 50002, 'ENGINE_ERROR: not retriable');
      assert.equal(api.message, error.message, 'the HTTP answer carries the explanation');
    });
  }

  test('a connection dropped while the answer is on its way: the identical batch is sent again and the append succeeds', TEST_TIMEOUT, async () => {
    // A cluster of its own: the held-back answer occupies its connection.
    const own = await MockCluster.start(1);
    const dropped = new KafkaEngine(options(own.brokers, { requestTimeout: 10_000, retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 10_000 } }), logger);
    await dropped.start();
    try {
      const t = 'dropped-connection';
      await own.createTopic(t, 1, 1);
      // The next Produce is appended at once, its answer held back 8 s (under the request timeout).
      await own.brokerError(1, PRODUCE, 0, 8000);
      const pending = dropped.append(t, 0, [record('in doubt')], { acks: -1, producer: identity(KEYED_ID, 0) });
      let settled = false;
      void pending.then(
        () => (settled = true),
        () => (settled = true),
      );
      await until('the batch in the log', 5000, async () => (await rawRecords(own.brokers, t, 0)).length > 0);
      assert.equal(settled, false, 'the append is still waiting for its answer');
      await own.brokerDown(1);
      await own.brokerUp(1);
      const result = await pending;
      const stored = await rawRecords(own.brokers, t, 0);
      assert.ok(stored.length >= 2, `the batch was sent again after the drop (copies: ${stored.length})`);
      assert.deepEqual(new Set(stored.map(producerHeader)), new Set([`${KEYED_ID}/0/0`]), 'every copy carries the identity as given: Kafka keeps the first and answers the rest with its offset');
      assert.ok(result.baseOffset >= 1, 'the mock appended the resend (Kafka would answer 0)');
    } finally {
      await dropped.close();
      await own.stop();
    }
  });
});
