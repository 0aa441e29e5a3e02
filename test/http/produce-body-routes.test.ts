import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post, get, highWatermarks, JSON_V2, BINARY_V2 } from '../helper';

const text = (base64: string | null) => (base64 === null ? null : Buffer.from(base64, 'base64').toString('utf8'));

test('the log holds each value as the client\'s own JSON text, and json reads give it back parsed', async (t) => {
  const { app } = await buildTestApp(t);
  const body = '{ "records" : [ { "value" : { "n": 1.50, "s": "\\u00e9" } , "key": "k\\u0031" }, {"key": [1, 2], "value": "\\"q\\""}, {"value": null} ] }';
  const res = await post(app, '/topics/raw', body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const stored = await get(app, '/topics/raw/partitions/0/records?offset=0', { accept: BINARY_V2 });
  assert.deepEqual(stored.body.map((r: any) => [text(r.key), text(r.value)]), [
    ['k1', '{ "n": 1.50, "s": "\\u00e9" }'],
    ['[1, 2]', '"\\"q\\""'],
    [null, null],
  ]);
  const read = await get(app, '/topics/raw/partitions/0/records?offset=0', { accept: JSON_V2 });
  assert.deepEqual(read.body.map((r: any) => [r.key, r.value]), [['k1', { n: 1.5, s: 'é' }], [[1, 2], '"q"'], [null, null]]);
});

test('__proto__ in a header object is 40001 and appends nothing; in a value it is stored as text', async (t) => {
  const { app, engine } = await buildTestApp(t);
  assert.equal((await post(app, '/topics', { name: 'proto', partitions: 1 }, 'application/json')).status, 201);
  const refused = await post(app, '/topics/proto', '{"records":[{"value":1,"headers":{"__proto__":"x"}}]}');
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error_code, 40001);
  assert.deepEqual(await highWatermarks(engine, 'proto'), [0]);
  const kept = await post(app, '/topics/proto', '{"records":[{"value":{"__proto__":{"polluted":true}}}]}');
  assert.equal(kept.status, 200);
  const read = await get(app, '/topics/proto/partitions/0/records?offset=0', { accept: BINARY_V2 });
  assert.equal(text(read.body[0].value), '{"__proto__":{"polluted":true}}');
});

test('shape errors name the field (40002); a syntax error later in the body still wins (40001)', async (t) => {
  const { app } = await buildTestApp(t);
  const cases: Array<[string, number, RegExp]> = [
    ['{"records":[{"value":1},{"value":2,"timestamp":-5}]}', 40002, /records\[1\]\.timestamp/],
    ['{"records":[{"value":1,"headers":[{"key":"a"}]}]}', 40002, /records\[0\]\.headers\[0\]/],
    ['{"records":[{"value":1,"partition":1.5}]}', 40002, /records\[0\]\.partition/],
    ['{"records":{"value":1}}', 40002, /records/],
    ['{"records":[{"partition":-1}],"x":[1,]}', 40001, /JSON/],
    ['{"records":[{"value":1}]} x', 40001, /JSON/],
  ];
  for (const [body, code, message] of cases) {
    const res = await post(app, '/topics/shape', body);
    assert.equal(res.body.error_code, code, body);
    assert.match(res.body.message, message, body);
  }
});
