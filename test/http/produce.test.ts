import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { buildTestApp, post, get, highWatermarks, JSON_V2, BINARY_V2, STRING_V2 } from '../helper';

/** kafkajs's Java-compatible partitioner: a second implementation to check ours against. */
function kafkaPartition(topic: string, key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1] }));
  return partitioner({ topic, partitionMetadata, message: { key, value: 'x' } } as never);
}

test('produce json records, read them back equal, with keys, headers and timestamps', async (t) => {
  const { app } = await buildTestApp(t);
  const value = { order: 42, items: ['egg', 'milk'], nested: { ok: true, n: null } };
  const res = await post(app, '/topics/orders', {
    records: [
      { key: 'user-1', value, headers: [{ key: 'trace', value: 'abc' }], timestamp: 1700000000000 },
      { value: 'just a string' },
      { key: { id: 7 }, value: 3.5 },
    ],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.offsets.map((o: any) => o.offset), [0, 1, 2]);
  assert.equal(res.body.key_schema_id, null);
  const read = await get(app, '/topics/orders/partitions/0/records?offset=0');
  assert.equal(read.status, 200);
  assert.equal(read.body.length, 3);
  assert.deepEqual(read.body[0].value, value);
  assert.equal(read.body[0].key, 'user-1', 'a JSON string key is stored as its text');
  assert.deepEqual(read.body[0].headers, [{ key: 'trace', value: 'abc' }]);
  assert.equal(read.body[0].timestamp, 1700000000000);
  assert.equal(read.body[1].value, 'just a string');
  assert.equal(read.body[1].key, null);
  assert.deepEqual(read.body[2].key, { id: 7 });
  assert.equal(read.body[2].value, 3.5);
  assert.ok(read.body[1].timestamp >= 1700000000000, 'records without a timestamp get the append time');
});

test('string keys are stored without quotes, so binary reads see the bytes a Kafka string serializer writes', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics/k', { records: [{ key: 'héllo', value: 1 }] });
  const read = await get(app, '/topics/k/partitions/0/records?offset=0', { accept: BINARY_V2 });
  assert.equal(Buffer.from(read.body[0].key, 'base64').toString('utf8'), 'héllo');
  assert.equal(Buffer.from(read.body[0].value, 'base64').toString('utf8'), '1');
});

test('binary and string formats round trip', async (t) => {
  const { app } = await buildTestApp(t);
  const bytes = Buffer.from([0, 1, 2, 255, 254]);
  const res = await post(app, '/topics/bin', { records: [{ key: Buffer.from('k').toString('base64'), value: bytes.toString('base64') }] }, BINARY_V2);
  assert.equal(res.status, 200);
  const read = await get(app, '/topics/bin/partitions/0/records?offset=0', { accept: BINARY_V2 });
  assert.deepEqual(Buffer.from(read.body[0].value, 'base64'), bytes);
  const s = await post(app, '/topics/str', { records: [{ key: 'a', value: '{not json' }] }, STRING_V2);
  assert.equal(s.status, 200);
  const sread = await get(app, '/topics/str/partitions/0/records?offset=0', { accept: STRING_V2 });
  assert.equal(sread.body[0].value, '{not json');
  const asJson = await get(app, '/topics/str/partitions/0/records?offset=0', { accept: JSON_V2 });
  assert.equal(asJson.status, 422);
  assert.equal(asJson.body.error_code, 42203);
});

test('keyed records land on the partition Kafka\'s default partitioner picks; explicit partitions win', async (t) => {
  const { app } = await buildTestApp(t);
  assert.equal((await post(app, '/topics', { name: 'p6', partitions: 6 }, 'application/json')).status, 201);
  const keys = Array.from({ length: 40 }, (_, i) => `customer-${i * 7919}`);
  const res = await post(app, '/topics/p6', { records: keys.map((key) => ({ key, value: key })) });
  assert.equal(res.status, 200);
  keys.forEach((key, i) => assert.equal(res.body.offsets[i].partition, kafkaPartition('p6', key, 6), key));
  const explicit = await post(app, '/topics/p6', { records: [{ key: keys[0], value: 1, partition: 5 }] });
  assert.equal(explicit.body.offsets[0].partition, 5);
  const path = await post(app, '/topics/p6/partitions/2', { records: [{ key: keys[0], value: 1 }, { value: 2 }] });
  assert.deepEqual(path.body.offsets.map((o: any) => o.partition), [2, 2]);
  // the same key always goes to the same partition: keyed ordering
  const again = await post(app, '/topics/p6', { records: [{ key: keys[3], value: 'a' }, { key: keys[3], value: 'b' }] });
  assert.equal(again.body.offsets[0].partition, again.body.offsets[1].partition);
  assert.equal(again.body.offsets[1].offset, again.body.offsets[0].offset + 1);
});

test('records without a key stick to one partition per batch (sticky partitioner)', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'sticky', partitions: 4 }, 'application/json');
  const res = await post(app, '/topics/sticky', { records: Array.from({ length: 20 }, (_, i) => ({ value: i })) });
  const partitions = new Set(res.body.offsets.map((o: any) => o.partition));
  assert.equal(partitions.size, 1);
});

test('acks=0, 1 and all are accepted per request (query or header); a bad acks is 40002', async (t) => {
  const { app } = await buildTestApp(t);
  const one = await post(app, '/topics/a?acks=1', { records: [{ value: 1 }] });
  assert.equal(one.body.offsets[0].offset, 0);
  const all = await post(app, '/topics/a', { records: [{ value: 2 }] }, JSON_V2, { acks: 'all' });
  assert.equal(all.body.offsets[0].offset, 1);
  const zero = await post(app, '/topics/a?acks=0', { records: [{ value: 3 }] });
  assert.equal(zero.status, 200);
  assert.equal(zero.body.offsets[0].offset, -1);
  const bad = await post(app, '/topics/a?acks=2', { records: [{ value: 4 }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 40002);
  // the acks=0 record is appended all the same
  const read = await get(app, '/topics/a/partitions/0/records?offset=0&timeout=2000');
  assert.ok(read.body.length >= 2);
});

test('unknown topics are created on first produce with num.partitions; not when auto-create is off', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_NUM_PARTITIONS: '3' });
  assert.equal((await post(app, '/topics/fresh', { records: [{ value: 1 }] })).status, 200);
  assert.equal((await get(app, '/topics/fresh')).body.partitions.length, 3);
  const off = await buildTestApp(t, { BASKET_AUTO_CREATE_TOPICS: 'false' });
  const res = await post(off.app, '/topics/fresh', { records: [{ value: 1 }] });
  assert.equal(res.status, 404);
  assert.equal(res.body.error_code, 40401);
});

test('bad produce input gets its 4xx error_code and appends nothing', async (t) => {
  const { app, engine } = await buildTestApp(t);
  await post(app, '/topics', { name: 'guarded', partitions: 2, configs: { 'max.message.bytes': '2000' } }, 'application/json');
  const cases: Array<{ name: string; url?: string; body: unknown; type?: string; status: number; code: number }> = [
    { name: 'malformed JSON', body: '{"records": [', status: 400, code: 40001 },
    { name: 'no records field', body: { value: 1 }, status: 400, code: 40002 },
    { name: 'empty records', body: { records: [] }, status: 400, code: 40002 },
    { name: 'wrong content type', body: 'hello', type: 'text/plain', status: 415, code: 41501 },
    { name: 'schema format', body: { records: [{ value: 1 }] }, type: 'application/vnd.kafka.avro.v2+json', status: 415, code: 41501 },
    { name: 'invalid base64', body: { records: [{ value: 'AAAA' }, { value: 'not*base64' }] }, type: BINARY_V2, status: 422, code: 42203 },
    { name: 'non-string in string format', body: { records: [{ value: 'ok' }, { value: 12 }] }, type: STRING_V2, status: 422, code: 42203 },
    { name: 'unknown partition', body: { records: [{ value: 1 }, { value: 2, partition: 9 }] }, status: 404, code: 40402 },
    { name: 'negative partition', body: { records: [{ value: 2, partition: -1 }] }, status: 400, code: 40002 },
    { name: 'oversized batch in one partition', url: '/topics/guarded/partitions/0', body: { records: [{ value: 'x'.repeat(3000) }] }, status: 413, code: 41302 },
    { name: 'oversized batch among several partitions', body: { records: [{ value: 1, partition: 0 }, { value: 'x'.repeat(3000), partition: 1 }] }, status: 413, code: 41302 },
    { name: 'header without key', body: { records: [{ value: 1, headers: [{ value: 'v' }] }] }, status: 422, code: 42203 },
    { name: 'unknown partition in path', url: '/topics/guarded/partitions/7', body: { records: [{ value: 1 }] }, status: 404, code: 40402 },
  ];
  for (const c of cases) {
    const res = await post(app, c.url ?? '/topics/guarded', c.body, c.type ?? JSON_V2);
    assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error_code, c.code, c.name);
    assert.equal(typeof res.body.message, 'string', c.name);
  }
  assert.deepEqual(await highWatermarks(engine, 'guarded'), [0, 0]);
  // '.' and '..' cannot travel in a path (clients and routers resolve dot segments): see topics.test.ts
  const names = [['bad$name', 40003], ['x'.repeat(250), 40003], ['__internal', 40006]] as const;
  for (const [name, code] of names) {
    const res = await post(app, `/topics/${encodeURIComponent(name)}`, { records: [{ value: 1 }] });
    assert.equal(res.body.error_code, code, name);
    assert.equal(res.status, 400, name);
  }
  assert.deepEqual(await get(app, '/topics').then((r) => r.body), ['guarded']);
});

test('a body over the limit is 413 (41301)', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_BODY_LIMIT: '2048' });
  const res = await post(app, '/topics/big', { records: [{ value: 'y'.repeat(4096) }] });
  assert.equal(res.status, 413);
  assert.equal(res.body.error_code, 41301);
});

test('concurrent first produces to a new topic all succeed (auto-create races)', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_NUM_PARTITIONS: '4' });
  const results = await Promise.all(
    Array.from({ length: 32 }, (_, i) => post(app, '/topics/racing', { records: [{ key: `k${i}`, value: i }] })),
  );
  for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
  const grown = await Promise.all([
    app.inject({ method: 'PATCH', url: '/topics/racing', payload: { partitions: 8 } }),
    ...Array.from({ length: 16 }, (_, i) => post(app, '/topics/racing', { records: [{ key: `g${i}`, value: i }] })),
  ]);
  for (const r of grown.slice(1) as Array<{ status: number; body: unknown }>) assert.equal(r.status, 200, JSON.stringify(r.body));
});
