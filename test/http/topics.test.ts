import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post, get } from '../helper';

test('create, list, describe, grow, alter configs and delete a topic', async (t) => {
  const { app } = await buildTestApp(t);
  const created = await post(app, '/topics', { name: 'orders', partitions: 3, configs: { 'retention.ms': '3600000' } }, 'application/json');
  assert.equal(created.status, 201);
  assert.equal(created.headers.location, '/topics/orders');
  assert.equal(created.body.partitions.length, 3);
  assert.equal(created.body.configs['retention.ms'], '3600000');
  assert.equal(created.body.configs['segment.bytes'], '1073741824', 'defaults filled in');
  await post(app, '/topics', { name: 'audit', configs: [{ name: 'cleanup.policy', value: 'delete' }] }, 'application/json');
  assert.deepEqual((await get(app, '/topics')).body, ['audit', 'orders']);

  await post(app, '/topics/orders/partitions/1', { records: [{ value: 'a' }, { value: 'b' }] });
  const described = await get(app, '/topics/orders');
  assert.equal(described.status, 200);
  const p1 = described.body.partitions[1];
  assert.equal(p1.high_watermark, 2);
  assert.equal(p1.log_start_offset, 0);
  assert.ok(p1.size_bytes > 0);
  assert.deepEqual(p1.replicas, [{ broker: p1.leader, leader: true, in_sync: true }]);

  const grown = await app.inject({ method: 'PATCH', url: '/topics/orders', payload: { partitions: 6, configs: { 'retention.ms': null, 'max.message.bytes': '5000' } } });
  assert.equal(grown.statusCode, 200);
  const g = grown.json();
  assert.equal(g.partitions.length, 6);
  assert.equal(g.configs['retention.ms'], '604800000', 'null resets to the default');
  assert.equal(g.configs['max.message.bytes'], '5000');
  assert.equal((await get(app, '/topics/orders/partitions')).body.length, 6);
  assert.equal((await get(app, '/topics/orders/partitions/5')).body.partition, 5);

  const del = await app.inject({ method: 'DELETE', url: '/topics/orders' });
  assert.equal(del.statusCode, 204);
  assert.equal((await get(app, '/topics/orders')).body.error_code, 40401);
  assert.deepEqual((await get(app, '/topics')).body, ['audit']);
});

test('topic admin errors: exists, shrink, bad configs, bad names, unknown topic and partition', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 't', partitions: 2 }, 'application/json');
  const again = await post(app, '/topics', { name: 't' }, 'application/json');
  assert.equal(again.status, 409);
  assert.equal(again.body.error_code, 40904);
  const shrink = await app.inject({ method: 'PATCH', url: '/topics/t', payload: { partitions: 1 } });
  assert.equal(shrink.statusCode, 400);
  assert.equal(shrink.json().error_code, 40005);
  assert.match(shrink.json().message, /only grow/);
  const badConfig = await app.inject({ method: 'PATCH', url: '/topics/t', payload: { configs: { 'retention.ms': 'soon' } } });
  assert.equal(badConfig.json().error_code, 40004);
  const unknownConfig = await post(app, '/topics', { name: 'u', configs: { 'no.such.config': '1' } }, 'application/json');
  assert.equal(unknownConfig.body.error_code, 40004);
  assert.equal((await get(app, '/topics/u')).status, 404, 'a refused create leaves nothing behind');
  const badName = await post(app, '/topics', { name: 'a/b' }, 'application/json');
  assert.equal(badName.status, 400);
  assert.equal(badName.body.error_code, 40003);
  for (const [name, code] of [['.', 40003], ['..', 40003], ['x'.repeat(250), 40003], ['', 40002]] as const) {
    const res = await post(app, '/topics', { name }, 'application/json');
    assert.equal(res.status, 400, name);
    assert.equal(res.body.error_code, code, name);
  }
  const zero = await post(app, '/topics', { name: 'z', partitions: 0 }, 'application/json');
  assert.equal(zero.body.error_code, 40002);
  assert.equal((await get(app, '/topics/nope')).body.error_code, 40401);
  assert.equal((await get(app, '/topics/t/partitions/2')).body.error_code, 40402);
  assert.equal((await get(app, '/topics/nope/partitions/0/offsets')).body.error_code, 40401);
  assert.equal((await app.inject({ method: 'DELETE', url: '/topics/nope' })).json().error_code, 40401);
  const empty = await app.inject({ method: 'PATCH', url: '/topics/t', payload: {} });
  assert.equal(empty.json().error_code, 40002);
});

test('partition offsets: beginning, end, last stable, and by timestamp', async (t) => {
  const { app } = await buildTestApp(t);
  const base = 1_700_000_000_000;
  await post(app, '/topics/ts', { records: [0, 1, 2, 3].map((i) => ({ value: i, timestamp: base + i * 1000 })) });
  const offsets = await get(app, '/topics/ts/partitions/0/offsets');
  assert.deepEqual(offsets.body, { beginning_offset: 0, end_offset: 4, last_stable_offset: 4 });
  const byTime = await get(app, `/topics/ts/partitions/0/offsets?timestamp=${base + 1500}`);
  assert.deepEqual(byTime.body.offset_for_timestamp, { timestamp: base + 1500, offset: 2, record_timestamp: base + 2000 });
  const after = await get(app, `/topics/ts/partitions/0/offsets?timestamp=${base + 99999}`);
  assert.equal(after.body.offset_for_timestamp.offset, -1);
});

test('GET /brokers answers the v2 shape', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await get(app, '/brokers');
  assert.equal(res.status, 200);
  assert.equal(res.body.brokers.length, 1);
  assert.equal(typeof res.body.brokers[0], 'number');
});
