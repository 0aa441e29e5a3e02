import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load-config';
import { createContainer } from '../../src/container';
import { buildApp } from '../../src/app';
import { TOKENS } from '../../src/tokens';
import { KafkaEngine } from '../../src/engine/kafka/kafka-engine';
import type { StorageEngine } from '../../src/engine/storage-engine';
import { MockCluster } from '../kafka-mock/mock-cluster';
import { rawRecords } from '../engine/kafka/kafka-raw-records';
import { postJson, startBasket } from './process';
import { onTeardown } from '../teardown';

/**
 * Transactions over HTTP with BASKET_ENGINE=kafka, against librdkafka's mock cluster.
 *
 * The real process: the mock does not announce WriteTxnMarkers, so the transaction routes answer
 * 501 (50101) at once, naming the missing API, rather than serving transactions whose aborts it
 * would not honour. In process: the same app with the kafka transaction coordinator's marker check
 * off drives the one-shot and multi-step forms through Kafka's transaction protocol on the mock.
 */
test('BASKET_ENGINE=kafka on a cluster without WriteTxnMarkers: the transaction routes answer 501 with 50101 at once', { timeout: 60_000 }, async (t) => {
  const cluster = await MockCluster.start(3);
  onTeardown(t, () => cluster.stop());
  await cluster.createTopic('orders', 1, 1);
  const basket = await startBasket({ BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap });
  onTeardown(t, () => basket.kill());

  const started = Date.now();
  const begin = await postJson(`${basket.url}/transactions`, {}, 'application/json');
  assert.equal(begin.status, 501, JSON.stringify(begin.body));
  assert.equal(begin.body.error_code, 50101);
  assert.match(begin.body.message, /WriteTxnMarkers/);
  const oneShot = await postJson(`${basket.url}/transactions`, { records: [{ topic: 'orders', value: { n: 1 } }] });
  assert.equal(oneShot.status, 501, JSON.stringify(oneShot.body));
  assert.equal(oneShot.body.error_code, 50101);
  const described = await fetch(`${basket.url}/transactions/abc`);
  assert.equal(described.status, 501);
  assert.equal(((await described.json()) as { error_code: number }).error_code, 50101);
  assert.ok(Date.now() - started < 10_000, 'refused without spending retries');
  // Nothing was written by the refused one-shot request.
  assert.deepEqual(await rawRecords(cluster.brokers, 'orders', 0), []);
  assert.equal(await basket.stop(), 0);
});

async function kafkaApp(t: TestContext, cluster: MockCluster): Promise<{ app: FastifyInstance; engine: StorageEngine }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-kafka-txn-'));
  const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent', BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap }, configDir: dataDir });
  const container = createContainer(config, pino({ level: 'silent' }));
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  assert.ok(engine instanceof KafkaEngine);
  container.register(TOKENS.TransactionCoordinator, { useValue: engine.transactionCoordinator({ requireMarkers: false }) });
  await engine.start();
  const app = await buildApp(container);
  onTeardown(t, async () => {
    await app.close();
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { app, engine };
}

async function post(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/vnd.kafka.json.v2+json', ...headers }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: JSON.parse(res.body) as any, headers: res.headers };
}

test('kafka engine, transaction protocol on the mock: the one-shot and multi-step forms over HTTP', { timeout: 60_000 }, async (t) => {
  const cluster = await MockCluster.start(3);
  onTeardown(t, () => cluster.stop());
  await cluster.createTopic('orders', 1, 3);
  await cluster.createTopic('audit', 1, 3);
  const { app } = await kafkaApp(t, cluster);

  // One-shot: records for two topics, committed in one request; a keyed retry gets the same answer.
  const key = { 'idempotency-key': 'one-shot-1' };
  const body = { records: [{ topic: 'orders', value: { order: 1 } }, { topic: 'audit', value: { audit: 'order 1' } }] };
  const shot = await post(app, '/transactions', body, key);
  assert.equal(shot.status, 200, JSON.stringify(shot.body));
  assert.equal(shot.body.transaction.state, 'CompleteCommit');
  assert.deepEqual(shot.body.offsets.map((o: { topic: string; offset: number }) => [o.topic, o.offset]), [['orders', 0], ['audit', 0]]);
  const again = await post(app, '/transactions', body, key);
  assert.equal(again.status, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.deepEqual(again.body.offsets, shot.body.offsets);

  // Multi-step: begin, records, consumed offsets, commit.
  const begun = await post(app, '/transactions', { transactional_id: 'e2e-tx' });
  assert.equal(begun.status, 201, JSON.stringify(begun.body));
  const id = begun.body.transaction_id as string;
  const records = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'orders', value: { order: 2 } }, { topic: 'orders', value: { order: 3 } }] });
  assert.equal(records.status, 200, JSON.stringify(records.body));
  assert.deepEqual(records.body.offsets.map((o: { offset: number }) => o.offset), [1, 2]);
  const offsets = await post(app, `/transactions/${id}/offsets`, { group_id: 'billing', offsets: [{ topic: 'audit', partition: 0, offset: 1 }] });
  assert.equal(offsets.status, 200, JSON.stringify(offsets.body));
  const committed = await post(app, `/transactions/${id}/commit`, {});
  assert.equal(committed.status, 200, JSON.stringify(committed.body));
  assert.equal(committed.body.state, 'CompleteCommit');
  const late = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'orders', value: { order: 'late' } }] });
  assert.equal(late.status, 409, JSON.stringify(late.body));
  assert.equal(late.body.error_code, 40905);

  // A second session of the same transactional id: the first is fenced (40906), the second aborts.
  const second = await post(app, '/transactions', { transactional_id: 'e2e-tx' });
  assert.equal(second.status, 201);
  const fenced = await post(app, `/transactions/${id}/commit`, {});
  assert.equal(fenced.body.error_code, 40906, JSON.stringify(fenced.body));
  const aborted = await post(app, `/transactions/${second.body.transaction_id}/abort`, {});
  assert.equal(aborted.body.state, 'CompleteAbort', JSON.stringify(aborted.body));

  // What Kafka holds: transactional batches, each with its session's producer.
  const stored = await rawRecords(cluster.brokers, 'orders', 0);
  assert.deepEqual(stored.map((r) => r.value), ['{"order":1}', '{"order":2}', '{"order":3}']);
  assert.ok(stored.every((r) => r.inTransaction));
  assert.equal(stored[1]!.producerId, String(begun.body.producer_id));
  assert.deepEqual(stored.slice(1).map((r) => r.producerEpoch), [begun.body.producer_epoch, begun.body.producer_epoch]);
});

test('kafka engine: a keyed one-shot transaction retried after a restart of Basket gets the first answer, and writes nothing again', { timeout: 60_000 }, async (t) => {
  const cluster = await MockCluster.start(1);
  onTeardown(t, () => cluster.stop());
  await cluster.createTopic('orders', 1, 1);
  // The mock has no CreateTopics: the answers topic is made through its control channel.
  await cluster.createTopic('__basket_transaction_answers', 1, 1);
  const key = { 'idempotency-key': 'order-42' };
  const body = { records: [{ topic: 'orders', value: { order: 42 } }] };

  const before = await kafkaApp(t, cluster);
  const first = await post(before.app, '/transactions', body, key);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  await before.app.close();

  const after = await kafkaApp(t, cluster);
  const retried = await post(after.app, '/transactions', body, key);
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  assert.equal(retried.headers['idempotent-replayed'], 'true');
  assert.deepEqual(retried.body.offsets, first.body.offsets);
  assert.equal(retried.body.transaction.transaction_id, first.body.transaction.transaction_id);
  assert.deepEqual((await rawRecords(cluster.brokers, 'orders', 0)).map((r) => r.value), ['{"order":42}'], 'written once');
  const reused = await post(after.app, '/transactions', { records: [{ topic: 'orders', value: { order: 43 } }] }, key);
  assert.equal(reused.body.error_code, 42209, JSON.stringify(reused.body));
});
