import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAssignment, decodeKeyRecord, decodeOutcomes, encodeAssignment, encodeKeyRecord, encodeOutcomes } from '../../src/produce/idempotency/idempotency-records';
import { parseIdempotencyKey, requestFingerprint } from '../../src/produce/idempotency/request-fingerprint';
import { parsePrefer } from '../../src/http/routes/receipts/prefer-header';
import type { ProduceOutcome } from '../../src/produce/produce-service';

test('outcomes and assignments round trip through their run-length forms', () => {
  const outcomes: ProduceOutcome[] = [
    { partition: 1, offset: 10, timestamp: 5 },
    { partition: 1, offset: 11, timestamp: 5 },
    { partition: 0, offset: 3, timestamp: 5 },
    { partition: 1, offset: 12, timestamp: 5 },
    { partition: 2, offset: -1, timestamp: -1 },
    { partition: 2, offset: -1, timestamp: -1 },
  ];
  const runs = encodeOutcomes(outcomes);
  assert.equal(runs.length, 4 * 4);
  assert.deepEqual(decodeOutcomes(runs), outcomes);
  const plan = {
    topic: 't',
    recordCount: 5,
    batches: [
      { partition: 2, records: [], indexes: [0, 1, 4] },
      { partition: 0, records: [], indexes: [2, 3] },
    ],
  };
  assert.deepEqual(encodeAssignment(plan), [2, 2, 0, 2, 2, 1]);
  assert.deepEqual(decodeAssignment(encodeAssignment(plan)), [2, 2, 0, 0, 2]);
});

test('Idempotency-Key parsing and the request fingerprint', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined);
  assert.equal(parseIdempotencyKey(' abc-1 '), 'abc-1');
  assert.equal(parseIdempotencyKey('"8e03978e-40d5"'), '8e03978e-40d5');
  assert.throws(() => parseIdempotencyKey('é'), { errorCode: 40002 });
  assert.throws(() => parseIdempotencyKey(['a', 'b']), { errorCode: 40002 });
  const base = requestFingerprint('POST', '/topics/a', 'application/json; charset=utf-8', '{"records":[]}');
  assert.equal(base, requestFingerprint('post', '/topics/a', 'Application/JSON', '{"records":[]}'), 'media type and method are compared case-blind');
  assert.notEqual(base, requestFingerprint('POST', '/topics/b', 'application/json', '{"records":[]}'));
  assert.notEqual(base, requestFingerprint('POST', '/topics/a', 'application/vnd.kafka.json.v2+json', '{"records":[]}'));
  assert.notEqual(base, requestFingerprint('POST', '/topics/a', 'application/json', '{"records": []}'));
});

test('Prefer header: respond-async and wait, in any case and across headers', () => {
  assert.deepEqual(parsePrefer(undefined), { respondAsync: false });
  assert.deepEqual(parsePrefer('Respond-Async, wait=10'), { respondAsync: true, waitSeconds: 10 });
  assert.deepEqual(parsePrefer(['return=minimal', 'wait=2.5']), { respondAsync: false, waitSeconds: 2.5 });
  assert.deepEqual(parsePrefer('wait=-1'), { respondAsync: false });
});

test('key records round trip through their binary form; records of the JSON version still decode', () => {
  const intent = {
    type: 'intent' as const,
    v: 0 as const,
    fingerprint: '\xab'.repeat(32),
    createdAt: 1700000000000,
    async: true,
    topic: 'orders',
    producerId: 7,
    producerEpoch: 0,
    assignment: [0, 2, 1, 1],
    sequences: [0, 5, 1, 9],
  };
  const completed = { type: 'completed' as const, v: 0 as const, fingerprint: '\xcd'.repeat(32), createdAt: 1, async: false, outcomes: [0, 10, 2, 5] };
  const kafkaIntent = { ...intent, topic: 'tópico', producerId: -1, producerEpoch: -1, sequences: [0, -1], assignment: [] };
  const offsetsPastInt32 = { ...completed, createdAt: 1763700000123, outcomes: [3, 2 ** 40, 1000, 1763700000999, 4, -1, 2, -1] };
  for (const record of [intent, completed, kafkaIntent, offsetsPastInt32, { type: 'released' as const, v: 0 as const }]) {
    const key = 'key "with" \\ quotes';
    assert.deepEqual(decodeKeyRecord(encodeKeyRecord(key, record)), { key, record });
    // journals written before the binary form hold JSON payloads
    assert.deepEqual(decodeKeyRecord(Buffer.from(JSON.stringify({ key, record }))), { key, record });
  }
  assert.equal(decodeKeyRecord(Buffer.from([9, 0, 1, 0x61])), undefined, 'a record type this version does not know is skipped');
  assert.throws(() => encodeKeyRecord('k'.repeat(256), completed));
});

test('the fingerprint of a large body is the same however it is computed', () => {
  const big = JSON.stringify({ records: Array.from({ length: 400 }, (_, i) => ({ value: `v${i}` })) });
  assert.ok(big.length >= 4096);
  assert.equal(requestFingerprint('POST', '/t', 'application/json', big), createHash('sha256').update(`POST /t\napplication/json\n${big}`).digest('binary'));
  assert.equal(requestFingerprint('POST', '/t', 'application/json', '{}'), createHash('sha256').update('POST /t\napplication/json\n{}').digest('binary'));
});

test('the fingerprint covers method, path and media type, whichever request came before', () => {
  const sha = (text: string): string => createHash('sha256').update(text).digest('binary');
  const json = 'application/vnd.kafka.json.v2+json';
  const calls: Array<[string, string, string | undefined, string, string]> = [
    ['POST', '/topics/a', json, '{}', `POST /topics/a\n${json}\n{}`],
    ['POST', '/topics/a', `${json}; charset=UTF-8`, '{}', `POST /topics/a\n${json}\n{}`],
    ['POST', '/topics/b', json, '{}', `POST /topics/b\n${json}\n{}`],
    ['post', '/topics/b', 'Application/JSON', '{}', 'POST /topics/b\napplication/json\n{}'],
    ['POST', '/topics/b', undefined, '{}', 'POST /topics/b\n\n{}'],
    ['POST', '/topics/a', json, '{"x":1}', `POST /topics/a\n${json}\n{"x":1}`],
  ];
  for (const round of [calls, [...calls].reverse()]) {
    for (const [method, path, contentType, body, text] of round) assert.equal(requestFingerprint(method, path, contentType, body), sha(text), text);
  }
});

test('a fingerprint an earlier version wrote in hex is read back as the 32 bytes this version computes', () => {
  const fingerprint = requestFingerprint('POST', '/topics/orders', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
  const hex = Buffer.from(fingerprint, 'latin1').toString('hex');
  const record = { type: 'completed' as const, v: 0 as const, createdAt: 1_700_000_000_123, async: false, outcomes: [0, 7, 1, 99] };
  assert.deepEqual(decodeKeyRecord(encodeKeyRecord('k', { ...record, fingerprint: hex }))?.record, { ...record, fingerprint });
  const json = Buffer.from(JSON.stringify({ key: 'k', record: { ...record, fingerprint: hex } }));
  assert.deepEqual(decodeKeyRecord(json)?.record, { ...record, fingerprint }, 'also in the first version\'s JSON records');
  assert.equal(decodeKeyRecord(encodeKeyRecord('k', { ...record, fingerprint }))?.record.type, 'completed');
  assert.deepEqual(decodeKeyRecord(encodeKeyRecord('k', { ...record, fingerprint })), { key: 'k', record: { ...record, fingerprint } }, 'this version\'s bytes, unchanged');
});

test('a completed record carries the key\'s producer id when it has one; a reader that stops after the outcomes still reads the rest', () => {
  const base = { type: 'completed' as const, v: 0 as const, fingerprint: '\xa7'.repeat(32), createdAt: 1_700_000_000_123, async: false, outcomes: [2, 41, 1, 99] };
  const withId = { ...base, producerId: 2 ** 52 + 12345 };
  const payload = encodeKeyRecord('k-1', withId);
  assert.deepEqual(decodeKeyRecord(payload), { key: 'k-1', record: withId });
  const without = encodeKeyRecord('k-1', base);
  assert.deepEqual(decodeKeyRecord(without), { key: 'k-1', record: base });
  assert.equal(payload.length, without.length + 8, 'the id follows the outcomes');
  assert.deepEqual(payload.subarray(2, without.length), without.subarray(2), 'every field before it is where it was');
});
