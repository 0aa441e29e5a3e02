import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerRecord } from '../../src/engine/storage-engine';
import { toWireRecord } from '../../src/produce/record-serde';
import { SharedRecord } from '../../src/sse/shared-record';

function record(value: string | null, extra: Partial<ConsumerRecord> = {}): ConsumerRecord {
  return {
    topic: 'orders',
    partition: 2,
    offset: 41,
    timestamp: 1_763_800_000_123,
    timestampType: 'CreateTime',
    key: null,
    value: value === null ? null : Buffer.from(value, 'utf8'),
    headers: [],
    ...extra,
  };
}

test('a record event in the json format is the wire record as JSON, whichever way it is built', () => {
  const records = [
    record('{"seq":7}'),
    record('[1,"two",{"three":[3]}]'),
    record('"text with \\"quotes\\" and \\\\ and é"'),
    record('12.5'),
    record('true'),
    record(null),
    record('{"a":1}', { key: Buffer.from('{"k":1}') }),
    record('{"a":1}', { headers: [{ key: 'h', value: Buffer.from('v') }] }),
  ];
  for (const r of records) {
    const data = new SharedRecord(r).data('json');
    assert.equal(data.event, 'record');
    assert.equal(data.json, JSON.stringify(toWireRecord('json', r)), `value ${r.value?.toString()}`);
  }
});

test('a json value with line breaks or spaces between its tokens still makes one data line of the same JSON', () => {
  const r = record('{\n  "seq": 7,\r\n  "tags": [ "a", "b" ]\n}\n');
  const data = new SharedRecord(r).data('json');
  assert.equal(data.event, 'record');
  assert.doesNotMatch(data.json, /[\r\n]/);
  assert.deepEqual(JSON.parse(data.json), toWireRecord('json', r));
  const spaced = record(' { "seq" : 8 } ');
  assert.deepEqual(JSON.parse(new SharedRecord(spaced).data('json').json), toWireRecord('json', spaced));
});

test('a value that is not JSON is an unreadable event in the json format, and a record in the others', () => {
  for (const bad of ['{"seq":', 'plain text', '{"a":1} {"b":2}', '']) {
    const shared = new SharedRecord(record(bad));
    const data = shared.data('json');
    assert.equal(data.event, 'unreadable', `value ${JSON.stringify(bad)}`);
    assert.equal(JSON.parse(data.json).offset, 41);
    assert.equal(shared.data('string').event, 'record');
    assert.equal(shared.data('binary').json, JSON.stringify(toWireRecord('binary', record(bad))));
  }
});
