import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonText } from '../../src/http/routes/consumers/json-text';
import { renderRecords } from '../../src/http/routes/consumers/records-json';
import { toWireRecord } from '../../src/produce/record-serde';
import type { ConsumerRecord } from '../../src/engine/storage-engine';
import { buildTestApp, get, post, JSON_V2 } from '../helper';
import { V2 } from '../consumer/consumer-client';

const parses = (text: string | Buffer) => {
  try {
    JSON.parse(Buffer.isBuffer(text) ? text.toString('utf8') : text);
    return true;
  } catch {
    return false;
  }
};

test('isJsonText agrees with JSON.parse', () => {
  const texts = [
    '{}', '[]', '0', '-0', '1.5e+3', '-12.0E-2', 'true', 'false', 'null', '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9"', ' \t\r\n{"a" : [1, {"b": null}] } \n',
    '{"k":"é ☃ 𝄞"}', '"\u2028"', '[1,2,3]', '{"a":1,"b":[true,false,null,"x",-1.25e10]}',
    '', ' ', '{', '}', '[1,]', '{"a":1,}', '{a:1}', "'x'", '01', '1.', '.5', '1e', '+1', '-', 'tru', 'nul', 'True', 'NaN', 'Infinity',
    '"\\x41"', '"\\u12G4"', '"unterminated', '"tab\there"', '{"a" 1}', '[1 2]', '1 2', '{}{}', '\ufeff{}', '{"a":1}x', '[',
  ];
  for (const text of texts) assert.equal(isJsonText(Buffer.from(text)), parses(text), JSON.stringify(text));
  for (const bytes of [Buffer.from([0x22, 0xff, 0xfe, 0x22]), Buffer.from([0xff]), Buffer.from([0x5b, 0xc3, 0x5d]), Buffer.from([0x22, 0x00, 0x22])]) {
    assert.equal(isJsonText(bytes), parses(bytes), bytes.toString('hex'));
  }
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  assert.equal(isJsonText(Buffer.from(deep)), parses(deep), 'nesting deeper than the scanner goes is left to JSON.parse');
  assert.equal(isJsonText(Buffer.from(`${deep}]`)), false);
});

function record(offset: number, key: Buffer | null, value: Buffer | null, headers: ConsumerRecord['headers'] = [], topic = 'tópic"1'): ConsumerRecord {
  return { topic, partition: 2, offset, timestamp: 1_700_000_000_000 + offset, timestampType: 'CreateTime', key, value, headers };
}

test('rendered records are the same document as toWireRecord, in every format', () => {
  const records = [
    record(0, null, null),
    record(1, Buffer.from('user-1'), Buffer.from('{"item":"egg","qty":12}')),
    record(2, Buffer.from('{"id": 7}'), Buffer.from(' [1, "two", {"three": 3}] ')),
    record(3, Buffer.from('[not json'), Buffer.from('"a string \\u00e9"'), [{ key: 'trace', value: Buffer.from('abc') }, { key: 'empty', value: null }]),
    record(4, Buffer.from(''), Buffer.from('42'), [], 'other'),
    record(5, Buffer.from('line\nbreak "quoted"'), Buffer.from('null'), [{ key: 'k"ey', value: Buffer.from([0xe2, 0x98, 0x83]) }]),
  ];
  for (const format of ['json', 'binary', 'string'] as const) {
    const rendered = renderRecords(format, records);
    assert.equal(rendered.count, records.length);
    assert.equal(rendered.error, undefined);
    assert.deepEqual(JSON.parse(rendered.json.toString('utf8')), records.map((r) => toWireRecord(format, r)), format);
    // JSON.stringify's own escaping is what the bytes say, where there is anything to escape.
    if (format !== 'json') assert.equal(rendered.json.toString('utf8'), JSON.stringify(records.map((r) => toWireRecord(format, r))), format);
  }
  assert.equal(renderRecords('json', []).json.toString(), '[]');
});

test('the json format stops at a value that is not JSON, after the records before it', () => {
  const records = [record(0, null, Buffer.from('1')), record(1, null, Buffer.from('not json')), record(2, null, Buffer.from('3'))];
  const rendered = renderRecords('json', records);
  assert.equal(rendered.count, 1);
  assert.deepEqual(JSON.parse(rendered.json.toString()).map((r: any) => r.value), [1]);
  assert.equal(rendered.error?.errorCode, 42203);
  assert.throws(() => toWireRecord('json', records[1] as ConsumerRecord), /not JSON/);
});

test('over HTTP: a record a json consumer cannot show is 42203 and is not skipped; the records before it arrive; a seek moves past it', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'mixed', partitions: 1 }, 'application/json');
  await post(app, '/topics/mixed', { records: [{ value: { ok: 1 } }] });
  await post(app, '/topics/mixed', { records: [{ value: 'plain text' }] }, 'application/vnd.kafka.string.v2+json');
  await post(app, '/topics/mixed', { records: [{ value: { ok: 3 } }] });
  await post(app, '/consumers/mg', { name: 'c', format: 'json', 'auto.offset.reset': 'earliest' }, V2);
  const base = '/consumers/mg/instances/c';
  await post(app, `${base}/subscription`, { topics: ['mixed'] }, V2);

  const first = await get(app, `${base}/records?timeout=1000`, { accept: JSON_V2 });
  assert.deepEqual(first.body.map((r: any) => r.value), [{ ok: 1 }]);
  for (let i = 0; i < 2; i++) {
    const stuck = await get(app, `${base}/records?timeout=1000`, { accept: JSON_V2 });
    assert.deepEqual([stuck.status, stuck.body.error_code], [422, 42203]);
    assert.match(stuck.body.message, /mixed-0@1 is not JSON/);
  }
  assert.deepEqual((await get(app, `${base}/positions`)).body.offsets, [{ topic: 'mixed', partition: 0, offset: 1 }]);
  await post(app, `${base}/positions`, { offsets: [{ topic: 'mixed', partition: 0, offset: 2 }] }, V2);
  assert.deepEqual((await get(app, `${base}/records?timeout=1000`, { accept: JSON_V2 })).body.map((r: any) => r.value), [{ ok: 3 }]);
});
