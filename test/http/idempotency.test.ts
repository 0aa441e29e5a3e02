import 'reflect-metadata';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load-config';
import { createContainer } from '../../src/container';
import { buildApp } from '../../src/app';
import { TOKENS } from '../../src/tokens';
import { EngineError } from '../../src/engine/engine-error';
import type { StorageEngine } from '../../src/engine/storage-engine';
import type { IdempotentProducer } from '../../src/produce/idempotency/idempotent-producer';
import type { IdempotencyKeyStore } from '../../src/produce/idempotency/idempotency-key-store';
import { buildTestApp, post, get, highWatermarks, JSON_V2 } from '../helper';
import { defer, tempDir } from '../engine/embedded/helpers';
import { IDEMPOTENCY_DIR } from '../../src/produce/idempotency/idempotency-key-store';
import { decodeKeyRecord } from '../../src/produce/idempotency/idempotency-records';
import { keyedProducerId } from '../../src/produce/idempotency/keyed-producer-id';

/** Every value of a topic's partitions, read through the HTTP API. */
async function values(app: FastifyInstance, topic: string, partitions = 1): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let p = 0; p < partitions; p++) {
    const read = await get(app, `/topics/${topic}/partitions/${p}/records?offset=0&max_bytes=10000000`);
    assert.equal(read.status, 200);
    for (const r of read.body) out.push(r.value);
  }
  return out;
}

/**
 * An app on `dataDir` whose engine can be told to fail appends, to stand for a process that dies
 * between two writes: `failing` decides per append whether it throws instead of (or after) writing.
 */
async function openApp(t: TestContext, dataDir: string) {
  const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, configDir: dataDir });
  const container = createContainer(config, pino({ level: 'silent' }));
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  const faults = { failing: (_topic: string, _value: string): 'write-then-fail' | 'fail' | undefined => undefined, loseOutcomes: false };
  const realAppend = engine.append.bind(engine);
  engine.append = async (topic, partition, records, options) => {
    const fault = faults.failing(topic, records[0]?.value?.toString() ?? '');
    if (fault === 'fail') throw new EngineError('REQUEST_TIMED_OUT', 'injected: the append never reached the log');
    const result = await realAppend(topic, partition, records, options);
    if (fault === 'write-then-fail') throw new EngineError('KAFKA_STORAGE_ERROR', 'injected: the process died after this write');
    return result;
  };
  await engine.start();
  const app = await buildApp(container);
  // The outcome record can be made to fail, as if the process died before writing it.
  const store = (container.resolve<IdempotentProducer>(TOKENS.IdempotentProducer) as unknown as { store: IdempotencyKeyStore }).store;
  const writeCompleted = store.writeCompleted.bind(store);
  store.writeCompleted = (...args) => (faults.loseOutcomes ? Promise.reject(new Error('injected: died before the outcome')) : writeCompleted(...args));
  const writeCompletedNow = store.writeCompletedNow.bind(store);
  store.writeCompletedNow = (entry, done) => (faults.loseOutcomes ? done(new Error('injected: died before the outcome')) : writeCompletedNow(entry, done));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await engine.close();
  };
  defer(t, close);
  return { app, engine, faults, close };
}

test('a repeat with the same Idempotency-Key gets the first answer and writes nothing', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const body = { records: [{ value: { order: 1 } }, { value: { order: 2 } }] };
  const first = await post(app, '/topics/orders', body, JSON_V2, { 'idempotency-key': 'order-1' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['idempotent-replayed'], undefined);
  const again = await post(app, '/topics/orders?acks=1', body, JSON_V2, { 'idempotency-key': '"order-1"' });
  assert.equal(again.status, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.deepEqual(again.body, first.body);
  assert.deepEqual(await highWatermarks(engine, 'orders'), [2]);

  const other = await post(app, '/topics/orders', { records: [{ value: { order: 3 } }] }, JSON_V2, { 'idempotency-key': 'order-1' });
  assert.equal(other.status, 422);
  assert.equal(other.body.error_code, 42209);
  const otherPath = await post(app, '/topics/orders/partitions/0', body, JSON_V2, { 'idempotency-key': 'order-1' });
  assert.equal(otherPath.body.error_code, 42209, 'the path is part of the request');
  assert.deepEqual(await highWatermarks(engine, 'orders'), [2]);

  const fresh = await post(app, '/topics/orders', body, JSON_V2, { 'idempotency-key': 'order-2' });
  assert.deepEqual(fresh.body.offsets.map((o: any) => o.offset), [2, 3]);
  assert.equal((await post(app, '/topics/orders', body, JSON_V2, { 'idempotency-key': 'x'.repeat(256) })).body.error_code, 40002);
  assert.equal((await post(app, '/topics/orders', body, JSON_V2, { 'idempotency-key': '' })).body.error_code, 40002);
});

test('a request refused before writing frees its key; a validation failure never takes it', async (t) => {
  const { app, engine } = await buildTestApp(t);
  assert.equal((await post(app, '/topics', { name: 'tiny', configs: { 'max.message.bytes': '200' } }, 'application/json')).status, 201);
  const big = { records: [{ value: 'x'.repeat(400) }] };
  const refused = await post(app, '/topics/tiny', big, JSON_V2, { 'idempotency-key': 'k1' });
  assert.equal(refused.status, 413);
  await engine.alterTopicConfigs('tiny', { 'max.message.bytes': '10000' });
  const retried = await post(app, '/topics/tiny', big, JSON_V2, { 'idempotency-key': 'k1' });
  assert.equal(retried.status, 200, 'the key was released: the retry runs');
  assert.equal(retried.headers['idempotent-replayed'], undefined);
  const bad = await post(app, '/topics/tiny', { records: [{ value: 'not base64!' }] }, 'application/vnd.kafka.binary.v2+json', { 'idempotency-key': 'k2' });
  assert.equal(bad.status, 422);
  const good = await post(app, '/topics/tiny', { records: [{ value: 'aGk=' }] }, 'application/vnd.kafka.binary.v2+json', { 'idempotency-key': 'k2' });
  assert.equal(good.status, 200);
  assert.deepEqual(await highWatermarks(engine, 'tiny'), [2]);
});

test('a retry storm of 1,000 concurrent duplicates writes exactly one copy of each request', async (t) => {
  const { app, engine } = await buildTestApp(t, { BASKET_NUM_PARTITIONS: '3' });
  const KEYS = 200;
  const COPIES = 5;
  const requests = [];
  for (let copy = 0; copy < COPIES; copy++) {
    for (let k = 0; k < KEYS; k++) {
      const body = { records: [{ key: `customer-${k % 17}`, value: { k, item: 'egg' } }] };
      requests.push(post(app, '/topics/storm', body, JSON_V2, { 'idempotency-key': `storm-${k}` }).then((res) => ({ k, res })));
    }
  }
  const answers = await Promise.all(requests);
  const byKey = new Map<number, string>();
  let replayed = 0;
  for (const { k, res } of answers) {
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.headers['idempotent-replayed'] === 'true') replayed++;
    const offsets = JSON.stringify(res.body.offsets);
    if (!byKey.has(k)) byKey.set(k, offsets);
    assert.equal(offsets, byKey.get(k), `every copy of key ${k} gets the same offsets`);
  }
  assert.equal(replayed, KEYS * (COPIES - 1));
  const written = (await values(app, 'storm', 3)) as Array<{ k: number }>;
  assert.equal(written.length, KEYS);
  assert.deepEqual(written.map((v) => v.k).sort((a, b) => a - b), Array.from({ length: KEYS }, (_, k) => k));
  assert.equal((await highWatermarks(engine, 'storm')).reduce((a, b) => a + b, 0), KEYS);
});

/** Keys whose intent is in the key journal's files now (frames: uint32 length, uint32 CRC, payload). */
function keysOnDisk(dataDir: string): Set<string> {
  const dir = join(dataDir, IDEMPOTENCY_DIR);
  const keys = new Set<string>();
  for (const name of readdirSync(dir).sort()) {
    const bytes = readFileSync(join(dir, name));
    for (let pos = 0; pos + 8 <= bytes.length; pos += 8 + bytes.readUInt32BE(pos)) {
      const decoded = decodeKeyRecord(bytes.subarray(pos + 8, pos + 8 + bytes.readUInt32BE(pos)));
      if (decoded?.record.type === 'intent' || decoded?.record.type === 'completed') keys.add(decoded.key);
    }
  }
  return keys;
}

test('a keyed request is sent as its key\'s own producer, and its intent or outcome is in the journal file before it is answered (what a kill -9 relies on)', async (t) => {
  const dataDir = tempDir(t, 'basket-idem-');
  const a = await openApp(t, dataDir);
  const identities = new Map<string, unknown>();
  const append = a.engine.append.bind(a.engine);
  a.engine.append = (topic, partition, records, options) => {
    // every record's value is its request's key
    identities.set(JSON.parse(records[0].value!.toString()) as string, options.producer);
    return append(topic, partition, records, options);
  };
  const requests = [];
  for (const acks of ['1', 'all']) {
    for (const count of [1, 100]) {
      for (let n = 0; n < 5; n++) {
        const key = `ordered-${acks}-${count}-${n}`;
        const body = { records: Array.from({ length: count }, () => ({ value: key })) };
        requests.push(
          post(a.app, `/topics/ordered?acks=${acks}`, body, JSON_V2, { 'idempotency-key': key }).then((res) => {
            assert.equal(res.status, 200);
            assert.ok(keysOnDisk(dataDir).has(key), `the intent or outcome of '${key}' is written before its answer`);
          }),
        );
      }
    }
  }
  await Promise.all(requests);
  assert.equal(identities.size, 20);
  for (const [key, producer] of identities) assert.deepEqual(producer, { producerId: keyedProducerId(key), producerEpoch: 0, baseSequence: 0 });
});

test('keys survive a restart: a repeat after it gets the first answer and writes nothing', async (t) => {
  const dataDir = tempDir(t, 'basket-idem-');
  const body = { records: [{ value: 'once' }] };
  const a = await openApp(t, dataDir);
  const first = await post(a.app, '/topics/restart', body, JSON_V2, { 'idempotency-key': 'r1' });
  assert.equal(first.status, 200);
  await a.close();
  const b = await openApp(t, dataDir);
  const again = await post(b.app, '/topics/restart', body, JSON_V2, { 'idempotency-key': 'r1' });
  assert.equal(again.status, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.deepEqual(again.body, first.body);
  assert.equal((await post(b.app, '/topics/restart', { records: [{ value: 'other' }] }, JSON_V2, { 'idempotency-key': 'r1' })).body.error_code, 42209);
  assert.deepEqual(await values(b.app, 'restart'), ['once']);
});

test('death after the append, before the outcome is written: the repeat after a restart is answered from the log and finds the batch', async (t) => {
  const dataDir = tempDir(t, 'basket-idem-');
  const body = { records: [{ value: 'paid' }, { value: 'shipped' }] };
  const a = await openApp(t, dataDir);
  // The outcome record never reaches the key journal: as if the process died right after the append.
  a.faults.loseOutcomes = true;
  const first = await post(a.app, '/topics/resume', body, JSON_V2, { 'idempotency-key': 'pay-7' });
  assert.equal(first.status, 500, 'a sync keyed request is answered once its outcome is written');
  await a.close();
  const b = await openApp(t, dataDir);
  const again = await post(b.app, '/topics/resume', body, JSON_V2, { 'idempotency-key': 'pay-7' });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.offsets.map((o: any) => o.offset), [0, 1], 'the engine answered the resent batch with its first offsets');
  assert.deepEqual(await values(b.app, 'resume'), ['paid', 'shipped']);
  const later = await post(b.app, '/topics/resume', body, JSON_V2, { 'idempotency-key': 'pay-7' });
  assert.equal(later.headers['idempotent-replayed'], 'true');
});

test('death after the intent, before the append: the repeat after a restart appends once', async (t) => {
  const dataDir = tempDir(t, 'basket-idem-');
  const body = { records: [{ value: 'late' }] };
  const a = await openApp(t, dataDir);
  a.faults.failing = (topic) => (topic === 'gap' ? 'fail' : undefined);
  const first = await post(a.app, '/topics/gap', body, JSON_V2, { 'idempotency-key': 'g1' });
  assert.equal(first.status, 500);
  assert.equal(first.body.error_code, 50003);
  const inDoubt = await post(a.app, '/topics/gap', body, JSON_V2, { 'idempotency-key': 'g1' });
  assert.equal(inDoubt.status, 500, 'while the engine still fails, the resume fails too');
  await a.close();
  const b = await openApp(t, dataDir);
  const again = await post(b.app, '/topics/gap', body, JSON_V2, { 'idempotency-key': 'g1' });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.offsets.map((o: any) => o.offset), [0]);
  assert.deepEqual(await values(b.app, 'gap'), ['late']);
  // A write that may have landed (the engine failed after it) is resolved the same way.
  b.faults.failing = (topic) => (topic === 'gap' ? 'write-then-fail' : undefined);
  const doubtful = await post(b.app, '/topics/gap', { records: [{ value: 'maybe' }] }, JSON_V2, { 'idempotency-key': 'g2' });
  assert.equal(doubtful.status, 503);
  b.faults.failing = () => undefined;
  const resolved = await post(b.app, '/topics/gap', { records: [{ value: 'maybe' }] }, JSON_V2, { 'idempotency-key': 'g2' });
  assert.equal(resolved.status, 200);
  assert.deepEqual(resolved.body.offsets.map((o: any) => o.offset), [1]);
  assert.deepEqual(await values(b.app, 'gap'), ['late', 'maybe']);
});
