import { test, type TestContext } from 'node:test';
import { request as httpRequest } from 'node:http';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { MockCluster } from '../kafka-mock/mock-cluster';
import { connectSse } from '../sse/sse-client';
import { recordsOf } from '../sse/live-app';
import { startBasket, postJson } from './process';
import { onTeardown } from '../teardown';

/**
 * Consumer groups through the real process with BASKET_ENGINE=kafka, on a Kafka-protocol cluster
 * (librdkafka's mock, 3 brokers): the Confluent v2 consumer quick start and SSE `group=` streams run
 * on Kafka's own group coordinator, and what they commit is the group's offsets in Kafka, as any
 * Kafka client reads them. The mock has no CreateTopics, so topics are made through its control
 * channel; it has no DescribeGroups/ListGroups, so /consumer-groups must fail clearly.
 */
const V2 = 'application/vnd.kafka.v2+json';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';

async function committedInKafka(brokers: string[], groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = new Kafka({ brokers, clientId: 'e2e-observer', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** A 3-broker mock cluster with one topic, and Basket on it with BASKET_ENGINE=kafka; both stopped after the test. */
async function basketOnMock(t: TestContext, topic: string, partitions: number) {
  const cluster = await MockCluster.start(3);
  onTeardown(t, () => cluster.stop());
  await cluster.createTopic(topic, partitions, 3);
  // The mock's rebalances wait for the session timeout; a short one keeps the test short.
  const basket = await startBasket({ BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap, BASKET_KAFKA_GROUP_SESSION_TIMEOUT_MS: '4000' });
  onTeardown(t, () => basket.kill());
  return { cluster, basket };
}

/** An HTTP request over node:http, which (unlike fetch) sends a GET with a body, as v2's GET offsets takes one. */
function request(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(url, { method, headers: { ...headers, ...length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the Confluent v2 consumer quick start with BASKET_ENGINE=kafka: instance, subscribe, records, commit, delete', { timeout: 60_000 }, async (t) => {
  const { cluster, basket } = await basketOnMock(t, 'jsontest', 1);
  const instance = `${basket.url}/consumers/my_json_consumer/instances/my_consumer_instance`;

  const produced = await postJson(`${basket.url}/topics/jsontest`, { records: [{ value: { foo: 'bar' } }] }, JSON_V2);
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  const created = await postJson(`${basket.url}/consumers/my_json_consumer`, { name: 'my_consumer_instance', format: 'json', 'auto.offset.reset': 'earliest' }, V2);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.deepEqual(created.body, { instance_id: 'my_consumer_instance', base_uri: instance });
  const subscribed = await postJson(`${instance}/subscription`, { topics: ['jsontest'] }, V2);
  assert.equal(subscribed.status, 204, JSON.stringify(subscribed.body));
  assert.deepEqual((await request(`${instance}/assignments`, 'GET')).body, { partitions: [{ topic: 'jsontest', partition: 0 }] }, 'the only member of a Kafka group gets its partition');

  const records = await request(`${instance}/records?timeout=5000`, 'GET', { accept: JSON_V2 });
  assert.equal(records.status, 200, JSON.stringify(records.body));
  assert.deepEqual(records.body.map((r: any) => ({ key: r.key, value: r.value, partition: r.partition, offset: r.offset, topic: r.topic })), [
    { key: null, value: { foo: 'bar' }, partition: 0, offset: 0, topic: 'jsontest' },
  ]);

  const commit = await request(`${instance}/offsets`, 'POST', { 'content-type': V2 });
  assert.equal(commit.status, 204, JSON.stringify(commit.body));
  const committed = await request(`${instance}/offsets`, 'GET', { 'content-type': V2 }, JSON.stringify({ partitions: [{ topic: 'jsontest', partition: 0 }] }));
  assert.deepEqual(committed.body, { offsets: [{ topic: 'jsontest', partition: 0, offset: 1, metadata: '' }] });
  assert.deepEqual(await committedInKafka(cluster.brokers, 'my_json_consumer', 'jsontest'), { 0: '1' }, 'the commit is the Kafka group offset');

  const deleted = await request(instance, 'DELETE', { 'content-type': V2 });
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  const gone = await request(`${instance}/records`, 'GET', { accept: JSON_V2 });
  assert.deepEqual([gone.status, gone.body.error_code], [404, 40403]);

  // Group administration needs APIs this cluster does not have: a clear 5xx, not a hang or a 404.
  const listed = await request(`${basket.url}/consumer-groups`, 'GET');
  assert.ok(listed.status >= 500 && listed.status < 600, JSON.stringify(listed.body));
  assert.match(listed.body.message, /does not offer the (ListGroups|DescribeGroups) API/);
  assert.equal(await basket.stop(), 0, `clean exit\n${basket.output()}`);
});

test('SSE group= with BASKET_ENGINE=kafka: a stream commits what it delivered to Kafka; the next stream of the group resumes after it', { timeout: 60_000 }, async (t) => {
  const { cluster, basket } = await basketOnMock(t, 'feed', 2);
  const produce = async (values: number[]) => {
    const res = await postJson(`${basket.url}/topics/feed`, { records: values.map((value) => ({ value, partition: value % 2 })) }, JSON_V2);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  await produce([0, 1, 2, 3]);
  const first = await connectSse(basket.url, '/topics/feed/events?group=viewers&from=earliest');
  assert.equal(first.status, 200);
  await first.waitForCount(4, 15_000);
  assert.deepEqual(recordsOf(first).map((r) => r.value).sort(), [0, 1, 2, 3]);
  first.close();

  // The stream commits what it delivered as it leaves; the offsets are Kafka's.
  const deadline = Date.now() + 15_000;
  let offsets: Record<number, string> = {};
  while (Date.now() < deadline) {
    offsets = await committedInKafka(cluster.brokers, 'viewers', 'feed');
    if (offsets[0] === '2' && offsets[1] === '2') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(offsets, { 0: '2', 1: '2' });

  await produce([4, 5]);
  const second = await connectSse(basket.url, '/topics/feed/events?group=viewers&from=earliest');
  onTeardown(t, () => second.close());
  assert.equal(second.status, 200);
  await second.waitForCount(2, 15_000);
  assert.deepEqual(recordsOf(second).map((r) => r.value).sort(), [4, 5], 'only what the group had not been delivered');
});
