import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockCluster } from '../kafka-mock/mock-cluster';
import { producerHeader, rawRecords, type RawRecord } from '../engine/kafka/kafka-raw-records';
import { startBasket, type BasketProcess } from './process';
import { onTeardown } from '../teardown';

/**
 * A keyed produce through two Basket replicas on the kafka engine (real processes, each with a data
 * directory of its own, so the second knows nothing of the key): both send each partition's batch
 * as the key's own producer (2^52 plus the first 52 bits of SHA-256 of the key, epoch 0, sequence 0),
 * to the same partitions, keyless records included. That identical header is what a Kafka broker
 * answers the repeat by, with the first append's offsets; the mock cluster keeps no producer state
 * and appends the repeat, so here each batch is in the log twice, under one identity.
 */
const KEY = 'order-17';
const BODY = {
  records: [
    { key: 'user-1', value: { item: 'egg' } },
    { key: 'user-2', value: { item: 'milk' } },
    { value: { item: 'keyless' } },
    { key: 'user-1', value: { item: 'flour' } },
  ],
};

function keyedProducerIdOf(key: string): string {
  const digest = createHash('sha256').update(key).digest();
  return (2n ** 52n + (BigInt(`0x${digest.subarray(0, 7).toString('hex')}`) >> 4n)).toString();
}

async function keyedPost(basket: BasketProcess, topic: string): Promise<{ status: number; replayed: string | null; body: any }> {
  const res = await fetch(`${basket.url}/topics/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kafka.json.v2+json', 'idempotency-key': KEY },
    body: JSON.stringify(BODY),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json() };
}

test('kafka engine: a keyed produce retried through another replica sends the same batches under the key\'s own producer identity', { timeout: 60_000 }, async (t) => {
  const cluster = await MockCluster.start(1);
  onTeardown(t, () => cluster.stop());
  const topic = 'keyed-orders';
  await cluster.createTopic(topic, 3, 1);
  const dirs = [mkdtempSync(join(tmpdir(), 'basket-kafka-keyed-a-')), mkdtempSync(join(tmpdir(), 'basket-kafka-keyed-b-'))];
  onTeardown(t, () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const env = (dir: string) => ({ BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap, BASKET_DATA_DIR: dir });
  const a = await startBasket(env(dirs[0]));
  onTeardown(t, () => a.kill());
  const b = await startBasket(env(dirs[1]));
  onTeardown(t, () => b.kill());

  const first = await keyedPost(a, topic);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const again = await keyedPost(a, topic);
  assert.equal(again.replayed, 'true', 'the same replica answers from its key table');
  assert.deepEqual(again.body, first.body);
  const elsewhere = await keyedPost(b, topic);
  assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
  assert.equal(elsewhere.replayed, null, 'the other replica has never seen the key: it sends the request');
  const partitionsOf = (body: any) => body.offsets.map((o: any) => o.partition);
  assert.deepEqual(partitionsOf(elsewhere.body), partitionsOf(first.body), 'every record, keyless too, goes to the same partition on both replicas');

  const pid = keyedProducerIdOf(KEY);
  const stored: RawRecord[] = [];
  for (let p = 0; p < 3; p++) stored.push(...(await rawRecords(cluster.brokers, topic, p)));
  assert.equal(stored.length, 2 * BODY.records.length, 'the mock appended the repeat (a Kafka broker answers it with the first offsets)');
  assert.deepEqual(new Set(stored.map(producerHeader)), new Set([`${pid}/0/0`]), "every batch of both sends is the key's producer at sequence 0");
  for (let p = 0; p < 3; p++) {
    const values = (await rawRecords(cluster.brokers, topic, p)).map((r) => r.value);
    const half = values.length / 2;
    assert.deepEqual(values.slice(half), values.slice(0, half), `partition ${p}: the second batch repeats the first record for record`);
  }
  assert.equal(await a.stop(), 0);
  assert.equal(await b.stop(), 0);
});
