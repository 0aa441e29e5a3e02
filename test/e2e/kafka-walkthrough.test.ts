import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockCluster } from '../kafka-mock/mock-cluster';
import { startBasket, postJson } from './process';
import { onTeardown } from '../teardown';

/**
 * The README's walk-through with BASKET_ENGINE=kafka, against a real Kafka-protocol server
 * (librdkafka's mock cluster, 3 brokers). The mock cannot create topics through the Kafka API
 * (no CreateTopics), so the topic is made through its control channel and POST /topics must fail
 * clearly instead; everything else is the same curl flow as on the embedded engine.
 */
test('README walk-through with BASKET_ENGINE=kafka on a Kafka-protocol cluster', async (t) => {
  const cluster = await MockCluster.start(3);
  onTeardown(t, () => cluster.stop());
  await cluster.createTopic('orders', 3, 1);
  const basket = await startBasket({ BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap });
  onTeardown(t, () => basket.kill());

  const info = (await (await fetch(`${basket.url}/actuator/info`)).json()) as any;
  assert.equal(info.engine, 'kafka');
  const unsupported = await postJson(`${basket.url}/topics`, { name: 'other', partitions: 3 }, 'application/json');
  assert.ok(unsupported.status >= 500 && unsupported.status < 600, `CreateTopics is missing on this cluster: ${JSON.stringify(unsupported.body)}`);
  assert.equal(typeof unsupported.body.error_code, 'number');
  assert.match(unsupported.body.message, /CreateTopics|not support|unsupported/i);

  const produced = await postJson(`${basket.url}/topics/orders`, {
    records: [
      { key: 'user-1', value: { item: 'egg', qty: 12 } },
      { key: 'user-1', value: { item: 'milk', qty: 1 } },
    ],
  });
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  const [a, b] = produced.body.offsets;
  assert.equal(a.partition, b.partition);
  assert.equal(b.offset, a.offset + 1);
  const p = a.partition;
  const read = (await (await fetch(`${basket.url}/topics/orders/partitions/${p}/records?offset=${a.offset}&timeout=5000`)).json()) as any[];
  assert.deepEqual(read.slice(0, 2).map((r) => r.value), [{ item: 'egg', qty: 12 }, { item: 'milk', qty: 1 }]);
  assert.equal(read[0].key, 'user-1');
  const offsets = (await (await fetch(`${basket.url}/topics/orders/partitions/${p}/offsets`)).json()) as any;
  assert.equal(offsets.end_offset, b.offset + 1);
  const topic = (await (await fetch(`${basket.url}/topics/orders`)).json()) as any;
  assert.equal(topic.partitions.length, 3);
  const brokers = (await (await fetch(`${basket.url}/brokers`)).json()) as any;
  assert.deepEqual(brokers.brokers.sort(), [1, 2, 3]);
  const unknown = await fetch(`${basket.url}/topics/nope/partitions/0/records?offset=0`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as any).error_code, 40401);
  assert.equal(await basket.stop(), 0);
});

test('kafka engine: cluster unreachable at start gives readiness DOWN and fast 503s with 50302', async (t) => {
  const cluster = await MockCluster.start(1);
  const bootstrap = cluster.bootstrap;
  await cluster.stop();
  const basket = await startBasket({ BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: bootstrap, BASKET_KAFKA_CONNECTION_TIMEOUT_MS: '500' }, 20000, 'liveness');
  onTeardown(t, () => basket.kill());
  const readiness = await fetch(`${basket.url}/actuator/health/readiness`);
  assert.equal(readiness.status, 503);
  const health = (await readiness.json()) as any;
  assert.equal(health.components.engine.status, 'DOWN');
  const produced = await postJson(`${basket.url}/topics/orders`, { records: [{ value: 1 }] });
  assert.equal(produced.status, 503);
  assert.equal(produced.body.error_code, 50302);
  const read = await fetch(`${basket.url}/topics/orders/partitions/0/records?offset=0`);
  assert.equal(read.status, 503);
  assert.equal(await basket.stop(), 0, 'a clean shutdown while the cluster is away');
});
