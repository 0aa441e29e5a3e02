import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, get, post, BINARY_V2, JSON_V2 } from '../helper';
import { TOKENS } from '../../src/tokens';
import type { ConsumerManager } from '../../src/consumer/consumer-manager';

const V2 = 'application/vnd.kafka.v2+json';

async function del(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'DELETE', url, headers });
  return { status: res.statusCode, body: res.body.length > 0 ? JSON.parse(res.body) : undefined };
}

async function produce(app: FastifyInstance, topic: string, values: unknown[], partition?: number) {
  const res = await post(app, `/topics/${topic}`, { records: values.map((value) => ({ value, ...(partition === undefined ? {} : { partition }) })) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

test('the v2 flow: create, subscribe, records, commit, committed offsets, delete', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'jsontest', partitions: 1 }, 'application/json');
  await produce(app, 'jsontest', [{ foo: 'bar' }, { foo: 'baz' }]);

  const created = await post(app, '/consumers/my_json_consumer', { name: 'my_consumer_instance', format: 'json', 'auto.offset.reset': 'earliest' }, V2, { host: 'basket.example:8082' });
  assert.equal(created.status, 200);
  assert.deepEqual(created.body, {
    instance_id: 'my_consumer_instance',
    base_uri: 'http://basket.example:8082/consumers/my_json_consumer/instances/my_consumer_instance',
  });
  const base = '/consumers/my_json_consumer/instances/my_consumer_instance';
  assert.equal((await post(app, `${base}/subscription`, { topics: ['jsontest'] }, V2)).status, 204);
  assert.deepEqual((await get(app, `${base}/subscription`)).body, { topics: ['jsontest'] });
  assert.deepEqual((await get(app, `${base}/assignments`)).body, { partitions: [{ topic: 'jsontest', partition: 0 }] });

  const records = await get(app, `${base}/records`, { accept: JSON_V2 });
  assert.equal(records.status, 200);
  assert.match(records.headers['content-type'] as string, /application\/vnd\.kafka\.json\.v2\+json/);
  assert.deepEqual(records.body.map((r: any) => [r.topic, r.key, r.value, r.partition, r.offset]), [
    ['jsontest', null, { foo: 'bar' }, 0, 0],
    ['jsontest', null, { foo: 'baz' }, 0, 1],
  ]);
  assert.equal(typeof records.body[0].timestamp, 'number');
  assert.deepEqual(records.body[0].headers, []);
  assert.deepEqual((await get(app, `${base}/positions`)).body, { offsets: [{ topic: 'jsontest', partition: 0, offset: 2 }] });

  // Commit what was consumed: Confluent's clients send the content type and no body.
  const commit = await app.inject({ method: 'POST', url: `${base}/offsets`, headers: { 'content-type': V2 } });
  assert.equal(commit.statusCode, 204, commit.body);
  const committed = await app.inject({ method: 'GET', url: `${base}/offsets`, headers: { 'content-type': V2 }, payload: JSON.stringify({ partitions: [{ topic: 'jsontest', partition: 0 }] }) });
  assert.deepEqual(JSON.parse(committed.body), { offsets: [{ topic: 'jsontest', partition: 0, offset: 2, metadata: '' }] });

  const deleted = await del(app, base, { 'content-type': V2 });
  assert.equal(deleted.status, 204);
  const gone = await get(app, `${base}/records`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error_code, 40403);
});

test('explicit commits, seeks to beginning, end, an offset and a timestamp', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'seek', partitions: 2 }, 'application/json');
  const before = Date.now();
  await produce(app, 'seek', ['a', 'b', 'c'], 0);
  await produce(app, 'seek', ['x'], 1);
  await post(app, '/consumers/g', { name: 'c', format: 'json', 'auto.commit.enable': 'false' }, V2);
  const base = '/consumers/g/instances/c';
  await post(app, `${base}/assignments`, { partitions: [{ topic: 'seek', partition: 0 }, { topic: 'seek', partition: 1 }] }, V2);
  assert.deepEqual((await get(app, `${base}/assignments`)).body.partitions.length, 2);

  assert.equal((await post(app, `${base}/positions/beginning`, { partitions: [] }, V2)).status, 204);
  assert.deepEqual((await get(app, `${base}/positions`)).body.offsets.map((o: any) => o.offset), [0, 0]);
  assert.equal((await post(app, `${base}/positions/end`, { partitions: [{ topic: 'seek', partition: 0 }] }, V2)).status, 204);
  assert.equal((await post(app, `${base}/positions`, { offsets: [{ topic: 'seek', partition: 0, offset: 1 }] }, V2)).status, 204);
  const read = (await get(app, `${base}/records?timeout=1000`, { accept: JSON_V2 })).body;
  assert.deepEqual(read.map((r: any) => `${r.partition}:${r.offset}:${r.value}`).sort(), ['0:1:b', '0:2:c', '1:0:x']);

  assert.equal((await post(app, `${base}/positions/timestamp`, { timestamp: before }, V2)).status, 204);
  assert.deepEqual((await get(app, `${base}/positions`)).body.offsets.map((o: any) => o.offset), [0, 0]);
  assert.equal((await post(app, `${base}/positions/timestamp`, { partitions: [{ topic: 'seek', partition: 0, timestamp: Date.now() + 60_000 }] }, V2)).status, 204);
  assert.equal((await get(app, `${base}/positions`)).body.offsets[0].offset, 3, 'no record at or after the timestamp: the end');

  const commit = await post(app, `${base}/offsets`, { offsets: [{ topic: 'seek', partition: 1, offset: 1, metadata: 'done' }] }, V2);
  assert.equal(commit.status, 204);
  const committed = await app.inject({ method: 'GET', url: `${base}/offsets`, payload: JSON.stringify({ partitions: [{ topic: 'seek', partition: 0 }, { topic: 'seek', partition: 1 }] }), headers: { 'content-type': V2 } });
  assert.deepEqual(JSON.parse(committed.body).offsets.map((o: any) => [o.partition, o.offset, o.metadata]), [[0, -1, ''], [1, 1, 'done']]);
});

test('bad input: clear 4xx codes, and the group is left usable', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'bad', partitions: 1 }, 'application/json');
  await post(app, '/consumers/g', { name: 'c', format: 'json', 'auto.offset.reset': 'earliest' }, V2);
  const base = '/consumers/g/instances/c';

  const taken = await post(app, '/consumers/g', { name: 'c' }, V2);
  assert.deepEqual([taken.status, taken.body.error_code], [409, 40902]);
  const badConfig = await post(app, '/consumers/g', { name: 'd', 'auto.offset.reset': 'sideways' }, V2);
  assert.deepEqual([badConfig.status, badConfig.body.error_code], [422, 42204]);
  assert.match(badConfig.body.message, /auto\.offset\.reset/);
  assert.equal((await post(app, '/consumers/g', { name: 'e', format: 'avro' }, V2)).body.error_code, 42204);

  const unknownInstance = await get(app, '/consumers/g/instances/nobody/records');
  assert.deepEqual([unknownInstance.status, unknownInstance.body.error_code], [404, 40403]);
  const unknownGroup = await post(app, '/consumers/nogroup/instances/c/subscription', { topics: ['bad'] }, V2);
  assert.deepEqual([unknownGroup.status, unknownGroup.body.error_code], [404, 40403]);

  assert.equal((await post(app, `${base}/subscription`, { topics: ['bad'] }, V2)).status, 204);
  const twice = await post(app, `${base}/subscription`, { topics: ['bad'] }, V2);
  assert.deepEqual([twice.status, twice.body.error_code], [409, 40901]);
  const mixed = await post(app, `${base}/assignments`, { partitions: [{ topic: 'bad', partition: 0 }] }, V2);
  assert.deepEqual([mixed.status, mixed.body.error_code], [409, 40903]);
  const notAssigned = await post(app, `${base}/positions`, { offsets: [{ topic: 'bad', partition: 7, offset: 0 }] }, V2);
  assert.deepEqual([notAssigned.status, notAssigned.body.error_code], [409, 40903]);

  for (const query of ['timeout=-1', 'timeout=99999999', 'max_bytes=0', 'max_bytes=999999999999', 'timeout=soon']) {
    const res = await get(app, `${base}/records?${query}`, { accept: JSON_V2 });
    assert.deepEqual([res.status, res.body.error_code], [400, 40002], query);
  }
  const wrongFormat = await get(app, `${base}/records`, { accept: BINARY_V2 });
  assert.deepEqual([wrongFormat.status, wrongFormat.body.error_code], [406, 40601]);

  // None of the refusals broke anything: the instance still reads, the group is Stable.
  await produce(app, 'bad', [1]);
  const read = await get(app, `${base}/records?timeout=2000`, { accept: JSON_V2 });
  assert.deepEqual(read.body.map((r: any) => r.value), [1]);
  const group = await get(app, '/consumer-groups/g');
  assert.equal(group.body.state, 'Stable');
  assert.equal(group.body.members.length, 1);

  const unsubscribed = await app.inject({ method: 'DELETE', url: `${base}/subscription`, headers: { 'content-type': V2 } });
  assert.equal(unsubscribed.statusCode, 204);
  assert.equal((await post(app, `${base}/assignments`, { partitions: [{ topic: 'bad', partition: 0 }] }, V2)).status, 204, 'after unsubscribing, manual assignment is allowed');
  const missing = await post(app, `${base}/assignments`, { partitions: [{ topic: 'nope', partition: 0 }] }, V2);
  assert.deepEqual([missing.status, missing.body.error_code], [404, 40401]);
});

test('a long-poll returns as soon as a record arrives', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'wait', partitions: 1 }, 'application/json');
  await post(app, '/consumers/g', { name: 'c', format: 'string', 'auto.offset.reset': 'latest' }, V2);
  const base = '/consumers/g/instances/c';
  await post(app, `${base}/subscription`, { topics: ['wait'] }, V2);
  // Positions resolve on the first read: an empty read fixes "latest" before anything is produced.
  assert.deepEqual((await get(app, `${base}/records?timeout=0`)).body, []);

  const waiting = get(app, `${base}/records?timeout=20000`, { accept: 'application/vnd.kafka.string.v2+json' });
  let settled = false;
  void waiting.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'the read waits while there is nothing');
  await post(app, '/topics/wait', { records: [{ value: 'hello' }] }, 'application/vnd.kafka.string.v2+json');
  const res = await waiting;
  assert.deepEqual(res.body.map((r: any) => r.value), ['hello']);
});

test('a client that goes away ends its long-poll and consumes nothing', { timeout: 15_000 }, async (t) => {
  const { app, container } = await buildTestApp(t);
  await post(app, '/topics', { name: 'gone', partitions: 1 }, 'application/json');
  await post(app, '/consumers/g', { name: 'c', format: 'string', 'auto.offset.reset': 'earliest' }, V2);
  const base = '/consumers/g/instances/c';
  await post(app, `${base}/subscription`, { topics: ['gone'] }, V2);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as import('node:net').AddressInfo;
  const instance = container.resolve<ConsumerManager>(TOKENS.ConsumerManager).get('g', 'c');

  const controller = new AbortController();
  const abandoned = fetch(`http://127.0.0.1:${port}${base}/records?timeout=25000`, { signal: controller.signal }).catch((err: Error) => err);
  const deadline = Date.now() + 5000;
  while (instance.idleFor(Date.now()) > 0) {
    if (Date.now() > deadline) assert.fail('the long-poll never started');
    await new Promise((r) => setTimeout(r, 5));
  }
  controller.abort();
  assert.equal(((await abandoned) as Error).name, 'AbortError');
  // Reads of one instance run one at a time: were the abandoned read still waiting, this one would
  // queue behind it for 25 s, past the test's timeout.
  assert.deepEqual((await get(app, `${base}/records?timeout=0`)).body, []);
  await post(app, '/topics/gone', { records: [{ value: 'kept' }] }, 'application/vnd.kafka.string.v2+json');
  const res = await get(app, `${base}/records?timeout=5000`, { accept: 'application/vnd.kafka.string.v2+json' });
  assert.deepEqual(res.body.map((r: any) => r.value), ['kept'], 'the record was not swallowed by the abandoned read');
});

test('auto.offset.reset: latest starts at the end, none refuses to guess until a position is set', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'reset', partitions: 1 }, 'application/json');
  await produce(app, 'reset', ['old-1', 'old-2']);

  await post(app, '/consumers/late', { name: 'l', format: 'json', 'auto.offset.reset': 'latest' }, V2);
  await post(app, '/consumers/late/instances/l/subscription', { topics: ['reset'] }, V2);
  assert.deepEqual((await get(app, '/consumers/late/instances/l/records?timeout=0', { accept: JSON_V2 })).body, []);
  await produce(app, 'reset', ['new']);
  assert.deepEqual((await get(app, '/consumers/late/instances/l/records?timeout=2000', { accept: JSON_V2 })).body.map((r: any) => r.value), ['new']);

  await post(app, '/consumers/strict', { name: 's', format: 'json', 'auto.offset.reset': 'none' }, V2);
  const base = '/consumers/strict/instances/s';
  await post(app, `${base}/subscription`, { topics: ['reset'] }, V2);
  const refused = await get(app, `${base}/records?timeout=0`, { accept: JSON_V2 });
  assert.deepEqual([refused.status, refused.body.error_code], [409, 40903]);
  assert.match(refused.body.message, /auto\.offset\.reset is none/);
  await post(app, `${base}/positions`, { offsets: [{ topic: 'reset', partition: 0, offset: 1 }] }, V2);
  assert.deepEqual((await get(app, `${base}/records?timeout=2000`, { accept: JSON_V2 })).body.map((r: any) => r.value), ['old-2', 'new']);
});
