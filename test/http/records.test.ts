import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post, get } from '../helper';

test('read from an offset with max_bytes; at least one record even if larger', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics/r', { records: Array.from({ length: 50 }, (_, i) => ({ value: { i, pad: 'p'.repeat(100) } })) });
  const all = await get(app, '/topics/r/partitions/0/records?offset=10');
  assert.equal(all.body.length, 40);
  assert.deepEqual(all.body.map((r: any) => r.offset), Array.from({ length: 40 }, (_, i) => i + 10));
  assert.equal(all.body[0].topic, 'r');
  assert.equal(all.body[0].partition, 0);
  const small = await get(app, '/topics/r/partitions/0/records?offset=10&max_bytes=1');
  assert.equal(small.status, 200);
  assert.ok(small.body.length >= 1 && small.body.length < 40, `got ${small.body.length}`);
  assert.equal(small.body[0].offset, 10);
  const end = await get(app, '/topics/r/partitions/0/records?offset=50');
  assert.deepEqual(end.body, []);
});

test('long-poll read returns as soon as a record arrives', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics/lp', { records: [{ value: 'first' }] });
  const waiting = get(app, '/topics/lp/partitions/0/records?offset=1&timeout=20000');
  let settled = false;
  void waiting.then(() => (settled = true));
  // the read is parked: give the event loop a few turns and check it has not answered
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  await post(app, '/topics/lp', { records: [{ value: 'second' }] });
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.map((r: any) => r.value), ['second']);
});

test('long-poll read with nothing new answers [] after its timeout', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics/quiet', { records: [{ value: 1 }] });
  const started = Date.now();
  const res = await get(app, '/topics/quiet/partitions/0/records?offset=1&timeout=100');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, []);
  assert.ok(Date.now() - started >= 90, 'it waited for the timeout');
});

test('read errors: negative offset, beyond the end, unknown topic/partition, bad timeout, unacceptable Accept', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_MAX_POLL_TIMEOUT_MS: '5000' });
  await post(app, '/topics/e', { records: [{ value: 1 }] });
  const cases: Array<[string, number, number, Record<string, string>?]> = [
    ['/topics/e/partitions/0/records?offset=-1', 400, 40002],
    ['/topics/e/partitions/0/records', 400, 40002],
    ['/topics/e/partitions/0/records?offset=abc', 400, 40002],
    ['/topics/e/partitions/0/records?offset=5', 416, 41601],
    ['/topics/e/partitions/0/records?offset=0&timeout=999999', 400, 40002],
    ['/topics/e/partitions/0/records?offset=0&max_bytes=0', 400, 40002],
    ['/topics/nope/partitions/0/records?offset=0', 404, 40401],
    ['/topics/e/partitions/3/records?offset=0', 404, 40402],
    ['/topics/e/partitions/0/records?offset=0', 406, 40601, { accept: 'text/html' }],
    ['/topics/e/partitions/0/records?offset=0', 406, 40601, { accept: 'application/vnd.kafka.avro.v2+json' }],
  ];
  for (const [url, status, code, headers] of cases) {
    const res = await get(app, url, headers);
    assert.equal(res.status, status, `${url}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error_code, code, url);
  }
});
