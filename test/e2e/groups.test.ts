import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBasket, postJson, type BasketProcess } from './process';

const V2 = 'application/vnd.kafka.v2+json';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { headers: { accept: JSON_V2 } });
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  return JSON.parse(text);
}

/** A consumer instance created and subscribed over real HTTP; `readAll` reads until `count` records came or a read comes back empty. */
async function consumer(basket: BasketProcess, group: string, name: string, config: Record<string, unknown> = {}) {
  const created = await postJson(`${basket.url}/consumers/${group}`, { name, format: 'json', 'auto.offset.reset': 'earliest', ...config }, V2);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const base: string = created.body.base_uri;
  const subscribed = await postJson(`${base}/subscription`, { topics: ['orders'] }, V2);
  assert.equal(subscribed.status, 204);
  return {
    base,
    async readAll(): Promise<Array<{ partition: number; offset: number; value: unknown }>> {
      const out: Array<{ partition: number; offset: number; value: unknown }> = [];
      for (let i = 0; i < 100; i++) {
        const batch = await getJson(`${base}/records?timeout=500`);
        if (batch.length === 0) break;
        out.push(...batch.map((r: any) => ({ partition: r.partition, offset: r.offset, value: r.value })));
      }
      return out;
    },
  };
}

const show = (records: Array<{ partition: number; offset: number }>) => records.map((r) => `${r.partition}:${r.offset}`).sort();

test('committed offsets survive a restart of the real process; auto-commit commits on shutdown; a new group reads from the beginning', { timeout: 90_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-e2e-groups-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let basket = await startBasket({ BASKET_DATA_DIR: dataDir });
  t.after(() => basket.kill());

  assert.equal((await postJson(`${basket.url}/topics`, { name: 'orders', partitions: 2 }, 'application/json')).status, 201);
  for (const partition of [0, 1]) {
    const records = Array.from({ length: 5 }, (_, i) => ({ value: { n: i }, partition }));
    assert.equal((await postJson(`${basket.url}/topics/orders`, { records })).status, 200);
  }

  const billing = await consumer(basket, 'billing', 'b1', { 'auto.commit.enable': 'false' });
  assert.equal((await billing.readAll()).length, 10);
  const commit = await postJson(`${billing.base}/offsets`, { offsets: [{ topic: 'orders', partition: 0, offset: 3 }, { topic: 'orders', partition: 1, offset: 2 }] }, V2);
  assert.equal(commit.status, 204);
  const audit = await consumer(basket, 'audit', 'a1'); // auto-commit on, never deleted
  assert.equal((await audit.readAll()).length, 10);

  assert.equal(await basket.stop(), 0, `clean exit\n${basket.output()}`);
  basket = await startBasket({ BASKET_DATA_DIR: dataDir });

  const described = await getJson(`${basket.url}/consumer-groups/billing`);
  assert.equal(described.state, 'Empty');
  assert.deepEqual(described.partitions.map((p: any) => [p.partition, p.committed_offset, p.lag]), [[0, 3, 2], [1, 2, 3]]);
  const billingAgain = await consumer(basket, 'billing', 'b2');
  assert.deepEqual(show(await billingAgain.readAll()), ['0:3', '0:4', '1:2', '1:3', '1:4'], 'continues where the group committed');

  const auditState = await getJson(`${basket.url}/consumer-groups/audit`);
  assert.deepEqual(auditState.partitions.map((p: any) => p.committed_offset), [5, 5], 'shutdown committed what the live instance had consumed');
  const auditAgain = await consumer(basket, 'audit', 'a2');
  assert.deepEqual(await auditAgain.readAll(), []);

  const fresh = await consumer(basket, 'fresh', 'f1');
  const all = await fresh.readAll();
  assert.equal(all.length, 10, 'a new group id with earliest reads everything');
  assert.deepEqual(all.filter((r) => r.partition === 0).map((r) => r.value), [0, 1, 2, 3, 4].map((n) => ({ n })));
});

test("the Confluent REST Proxy v2 quick start runs with its curl commands unchanged (but the address)", { timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-e2e-quickstart-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const basket = await startBasket({ BASKET_DATA_DIR: dataDir });
  t.after(() => basket.kill());
  const host = `127.0.0.1:${basket.port}`;
  const curl = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)('curl', ['-s', '-w', '\n%{http_code}', ...args.map((a) => a.replace('localhost:8082', host))]);
    const lines = stdout.split('\n');
    const status = Number(lines.pop());
    const body = lines.join('\n');
    return { status, body: body === '' ? undefined : JSON.parse(body) };
  };

  // Produce a message using JSON with the value '{ "foo": "bar" }' to the topic jsontest
  const produced = await curl('-X', 'POST', '-H', 'Content-Type: application/vnd.kafka.json.v2+json', '--data', '{"records":[{"value":{"foo":"bar"}}]}', 'http://localhost:8082/topics/jsontest');
  assert.equal(produced.status, 200);
  assert.equal(produced.body.offsets[0].offset, 0);

  // Create a consumer for JSON data, starting at the beginning of the topic's log
  const created = await curl('-X', 'POST', '-H', 'Content-Type: application/vnd.kafka.v2+json', '--data', '{"name": "my_consumer_instance", "format": "json", "auto.offset.reset": "earliest"}', 'http://localhost:8082/consumers/my_json_consumer');
  assert.deepEqual(created, {
    status: 200,
    body: { instance_id: 'my_consumer_instance', base_uri: `http://${host}/consumers/my_json_consumer/instances/my_consumer_instance` },
  });

  // and subscribe to a topic
  const subscribed = await curl('-X', 'POST', '-H', 'Content-Type: application/vnd.kafka.v2+json', '--data', '{"topics":["jsontest"]}', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/subscription');
  assert.deepEqual(subscribed, { status: 204, body: undefined });

  // Then consume some data using the base URL in the first response.
  const records = await curl('-X', 'GET', '-H', 'Accept: application/vnd.kafka.json.v2+json', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/records');
  assert.equal(records.status, 200);
  assert.deepEqual(records.body.map((r: any) => ({ key: r.key, value: r.value, partition: r.partition, offset: r.offset, topic: r.topic })), [
    { key: null, value: { foo: 'bar' }, partition: 0, offset: 0, topic: 'jsontest' },
  ]);

  // Commit: the given offsets, then (no body) everything consumed.
  const committedGiven = await curl('-X', 'POST', '-H', 'Content-Type: application/vnd.kafka.v2+json', '--data', '{"offsets": [{"topic": "jsontest", "partition": 0, "offset": 0}]}', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/offsets');
  assert.equal(committedGiven.status, 204);
  const committedAll = await curl('-X', 'POST', '-H', 'Content-Type: application/vnd.kafka.v2+json', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/offsets');
  assert.equal(committedAll.status, 204);
  const committed = await curl('-X', 'GET', '-H', 'Content-Type: application/vnd.kafka.v2+json', '--data', '{"partitions": [{"topic": "jsontest", "partition": 0}]}', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/offsets');
  assert.deepEqual(committed.body, { offsets: [{ topic: 'jsontest', partition: 0, offset: 1, metadata: '' }] });

  // Finally, close the consumer with a DELETE to make it leave the group and clean up its resources.
  const deleted = await curl('-X', 'DELETE', '-H', 'Content-Type: application/vnd.kafka.v2+json', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance');
  assert.deepEqual(deleted, { status: 204, body: undefined });
  const gone = await curl('-X', 'GET', '-H', 'Accept: application/vnd.kafka.json.v2+json', 'http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance/records');
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error_code, 40403);
});
