import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { isEngineError } from '../../../src/engine/engine-error';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { readAll, record, rejectsWith, text } from '../../engine-suite/suite-helpers';

/**
 * Fault handling of the kafka engine on the mock cluster: an unreachable cluster at start, brokers
 * lost and back mid-flight, injected protocol errors, and what the mock cannot do (topic admin).
 */
const PRODUCE = 0;
const FETCH = 1;
const TEST_TIMEOUT = { timeout: 30_000 };

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function engineOptions(brokers: string[], extra: Partial<KafkaEngineOptions> = {}): KafkaEngineOptions {
  return {
    brokers,
    clientId: 'faults-test',
    connectionTimeout: 500,
    requestTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 2000 },
    fetchMaxWaitMs: 200,
    reconnectBackoffMs: 50,
    reconnectBackoffMaxMs: 200,
    ...extra,
  };
}

/** Polls a condition every 20 ms until it holds or the deadline passes. */
async function until(what: string, condition: () => boolean, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A loopback port with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('kafka engine: cluster unreachable at start', () => {
  test('start resolves, health is DOWN with the reason, calls fail fast and retriable', TEST_TIMEOUT, async () => {
    const port = await closedPort();
    const engine = new KafkaEngine(engineOptions([`127.0.0.1:${port}`], { retry: { retries: 0, initialRetryTime: 50, maxRetryTime: 500 } }), logger);
    try {
      await engine.start();
      const health = engine.health();
      assert.equal(health.status, 'DOWN');
      assert.match(String(health.details.error), /ECONNREFUSED|Connection error/);
      const err = await rejectsWith(engine.append('t', 0, [record('x')], { acks: 1 }), 'BROKER_NOT_AVAILABLE');
      assert.equal(err.retriable, true);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      await rejectsWith(engine.listTopics(), 'BROKER_NOT_AVAILABLE');
      const fetchErr = await engine.fetch({ partitions: [{ topic: 't', partition: 0, offset: 0 }], maxBytes: 1000, maxWaitMs: 10_000, isolationLevel: 'read_uncommitted' }).catch((e: unknown) => e);
      assert.ok(isEngineError(fetchErr) && fetchErr.code === 'BROKER_NOT_AVAILABLE', 'a fetch does not wait out its maxWait on a dead cluster');
    } finally {
      await engine.close();
    }
    await rejectsWith(engine.listTopics(), 'ENGINE_CLOSED');
  });

  test('the engine connects in the background once the brokers come up', TEST_TIMEOUT, async () => {
    const mock = await MockCluster.start(1);
    await mock.createTopic('late', 1);
    await mock.brokerDown(-1);
    const engine = new KafkaEngine(engineOptions(mock.brokers, { retry: { retries: 0, initialRetryTime: 50, maxRetryTime: 500 } }), logger);
    try {
      await engine.start();
      assert.equal(engine.health().status, 'DOWN');
      await mock.brokerUp(-1);
      await until('health UP', () => engine.health().status === 'UP');
      const result = await engine.append('late', 0, [record('hello')], { acks: -1 });
      assert.equal(result.baseOffset, 0);
    } finally {
      await engine.close();
      await mock.stop();
    }
  });
});

describe('kafka engine: faults mid-flight', () => {
  let mock: MockCluster;
  let engine: KafkaEngine;

  before(async () => {
    mock = await MockCluster.start(3);
    engine = new KafkaEngine(engineOptions(mock.brokers), logger);
    await engine.start();
    assert.equal(engine.health().status, 'UP');
  });
  after(async () => {
    await engine.close();
    await mock.stop();
  });

  test('NOT_LEADER on produce is retried: one append, one record', TEST_TIMEOUT, async () => {
    await mock.createTopic('retry-produce', 1);
    await mock.pushRequestErrors(PRODUCE, 'NOT_LEADER_FOR_PARTITION', 2);
    const result = await engine.append('retry-produce', 0, [record('once')], { acks: -1 });
    assert.deepEqual([result.baseOffset, result.lastOffset], [0, 0]);
    assert.deepEqual((await readAll(engine, 'retry-produce', 0)).map((r) => text(r.value)), ['once']);
  });

  test('a produce timeout without a producer id (acks=1) is not retried behind the caller: a retriable REQUEST_TIMED_OUT', TEST_TIMEOUT, async () => {
    await mock.createTopic('timeout-produce', 1);
    await mock.pushRequestErrors(PRODUCE, 'REQUEST_TIMED_OUT', 1);
    const err = await rejectsWith(engine.append('timeout-produce', 0, [record('maybe')], { acks: 1 }), 'REQUEST_TIMED_OUT');
    assert.equal(err.retriable, true);
    const again = await engine.append('timeout-produce', 0, [record('again')], { acks: 1 });
    assert.equal(again.baseOffset, 0, 'the timed-out append stored nothing and was not sent twice');
  });

  test('a fetch retries NOT_LEADER within its wait and still returns the records', TEST_TIMEOUT, async () => {
    await mock.createTopic('retry-fetch', 1);
    await engine.append('retry-fetch', 0, [record('r0'), record('r1')], { acks: 1 });
    await mock.pushRequestErrors(FETCH, 'NOT_LEADER_FOR_PARTITION', 2);
    const response = await engine.fetch({ partitions: [{ topic: 'retry-fetch', partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 5000, isolationLevel: 'read_uncommitted' });
    assert.equal(response.partitions[0].error, undefined);
    assert.deepEqual(response.partitions[0].records.map((r) => text(r.value)), ['r0', 'r1']);
  });

  test('one broker lost: its partitions fail retriable, the others work, health stays UP', TEST_TIMEOUT, async () => {
    await mock.createTopic('split', 2, 1);
    await mock.setLeader('split', 0, 1);
    await mock.setLeader('split', 1, 2);
    await engine.describeTopic('split'); // refreshes the leaders the engine routes by
    await mock.brokerDown(1);
    try {
      const err = await rejectsWith(engine.append('split', 0, [record('lost')], { acks: 1 }), 'BROKER_NOT_AVAILABLE');
      assert.equal(err.retriable, true);
      const ok = await engine.append('split', 1, [record('fine')], { acks: 1 });
      assert.equal(ok.baseOffset, 0);
      await until('a probe after the failure to finish', () => engine.health().status === 'UP');
      const fetched = await engine.fetch({
        partitions: [{ topic: 'split', partition: 0, offset: 0 }, { topic: 'split', partition: 1, offset: 0 }],
        maxBytes: 1 << 20,
        maxWaitMs: 300,
        isolationLevel: 'read_uncommitted',
      });
      assert.equal(fetched.partitions[0].error?.code, 'BROKER_NOT_AVAILABLE');
      assert.equal(fetched.partitions[0].error?.retriable, true);
      assert.deepEqual(fetched.partitions[1].records.map((r) => text(r.value)), ['fine']);
    } finally {
      await mock.brokerUp(1);
    }
    const back = await engine.append('split', 0, [record('back')], { acks: 1 });
    assert.equal(back.baseOffset, 0);
  });

  test('all brokers lost: retriable errors, health DOWN; back: health UP, calls work', TEST_TIMEOUT, async () => {
    await mock.createTopic('outage', 1);
    await engine.append('outage', 0, [record('before')], { acks: 1 });
    await mock.brokerDown(-1);
    try {
      const err = await engine.append('outage', 0, [record('during')], { acks: 1 }).catch((e: unknown) => e);
      assert.ok(isEngineError(err) && err.retriable, `a retriable EngineError, got ${String(err)}`);
      await until('health DOWN', () => engine.health().status === 'DOWN');
      assert.ok(engine.health().details.error !== undefined, 'DOWN names its reason');
      await rejectsWith(engine.listOffset('outage', 0, 'latest'), 'BROKER_NOT_AVAILABLE');
    } finally {
      await mock.brokerUp(-1);
    }
    await until('health UP', () => engine.health().status === 'UP');
    const after = await engine.append('outage', 0, [record('after')], { acks: 1 });
    assert.equal(after.baseOffset, 1);
  });

  test('topic admin on a cluster without the admin APIs fails clearly, not slowly', TEST_TIMEOUT, async () => {
    const create = await rejectsWith(engine.createTopic({ name: 'no-admin', partitions: 1 }), 'UNSUPPORTED_VERSION');
    assert.match(create.message, /CreateTopics/);
    assert.equal(create.retriable, false);
    await mock.createTopic('admin-target', 1);
    await rejectsWith(engine.createPartitions('admin-target', 2), 'UNSUPPORTED_VERSION');
    await rejectsWith(engine.alterTopicConfigs('admin-target', { 'retention.ms': '1000' }), 'UNSUPPORTED_VERSION');
    await rejectsWith(engine.deleteTopic('admin-target'), 'UNSUPPORTED_VERSION');
    // Checks that need no admin API come first.
    await rejectsWith(engine.createTopic({ name: 'admin-target', partitions: 1 }), 'TOPIC_ALREADY_EXISTS');
    await rejectsWith(engine.deleteTopic('never-made'), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.deepEqual((await engine.describeTopic('admin-target')).configs, {}, 'no DescribeConfigs: no configs, rather than invented defaults');
    assert.equal(engine.health().status, 'UP');
  });
});
