/**
 * Batches produced through the json embedded format are named in the JSON memo when written
 * (AppendOptions.valuesAreJson): the first json read copies their values unchecked and answers byte
 * for byte as the object path, which checks every value. Batches produced in the binary or string
 * format are never named; a batch stored later at the same place with other bytes (the topic deleted
 * and created again) is not taken for the named one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import { JsonValueMemo, jsonValueMemo } from '../../src/engine/embedded/json-value-memo';
import type { StorageEngine } from '../../src/engine/storage-engine';
import { BINARY_V2, buildTestApp, JSON_V2, post, STRING_V2 } from '../helper';
import { objectPath } from './object-path';

/** Values of many JSON shapes: nested, escaped, unicode, numbers as written, null. */
function jsonValues(n: number, from = 0): unknown[] {
  return Array.from({ length: n }, (_, i) =>
    i % 6 === 5 ? null : i % 6 === 4 ? `text "${from + i}" é ✓` : i % 6 === 3 ? [1, 2.5e3, -0.25, true, false, null] : { id: from + i, nested: { list: [{}, []] }, s: 'a\\b\u0001' },
  );
}

/** Names in the memo of the topic's partition 0. */
function namesOf(topic: string): string[] {
  return [...jsonValueMemo.keys()].filter((k) => k.startsWith(`${topic}-0 `));
}

/** The names a reader gives the topic's stored batches in partition 0. */
async function readerNames(engine: StorageEngine, topic: string): Promise<string[]> {
  const log = (engine as EmbeddedEngine).partitionLog(topic, 0)!;
  const read = await log.readBatches(0, 1 << 24);
  return read.batches.map((b) => JsonValueMemo.keyOf(JsonValueMemo.segmentName(topic, 0, read.segmentBaseOffset), b));
}

async function readBoth(app: Awaited<ReturnType<typeof buildTestApp>>['app'], engine: StorageEngine, topic: string, offset: number) {
  const url = `/topics/${topic}/partitions/0/records?offset=${offset}&max_bytes=${1 << 20}`;
  const fused = await app.inject({ method: 'GET', url, headers: { accept: JSON_V2 } });
  const objects = await objectPath(engine, () => app.inject({ method: 'GET', url, headers: { accept: JSON_V2 } }));
  assert.equal(fused.statusCode, objects.statusCode, url);
  assert.equal(fused.body, objects.body, url);
  return fused;
}

test('a json produce names its batch in the memo before any read; the first json read copies it unchecked and answers as the object path', async (t) => {
  const { app, engine } = await buildTestApp(t);
  for (const [topic, configs] of [['produced-plain', {}], ['produced-zipped', { 'compression.type': 'gzip' }]] as const) {
    await engine.createTopic({ name: topic, partitions: 1, configs });
    const values = jsonValues(40);
    const records = values.map((value, i) => ({ key: { k: i }, value, ...(i % 5 === 0 ? { headers: [{ key: 'h', value: 'v' }] } : {}) }));
    assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records })).status, 200);
    // through the idempotent path too (an Idempotency-Key), and a batch too small to name
    assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: jsonValues(20, 40).map((value) => ({ value })) }, JSON_V2, { 'idempotency-key': `${topic}-k1` })).status, 200);
    assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: jsonValues(8, 60).map((value) => ({ value })) })).status, 200);

    const stored = await readerNames(engine, topic);
    assert.equal(stored.length, 3);
    assert.deepEqual(namesOf(topic), stored.slice(0, 2), 'the two batches of 16 records or more, under the names a reader computes');
    const hits = jsonValueMemo.hits;
    const res = await readBoth(app, engine, topic, 0);
    assert.equal(jsonValueMemo.hits - hits, 2, 'the first read found both named batches, so it did not check their values');
    const got = (JSON.parse(res.body) as Array<{ value: unknown }>).map((r) => r.value);
    assert.deepEqual(got, [...values, ...jsonValues(20, 40), ...jsonValues(8, 60)]);
  }
});

test('binary and string produces are never named, even when their values happen to be JSON', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const topic = 'produced-binary';
  await engine.createTopic({ name: topic, partitions: 1 });
  const texts = jsonValues(30).map((v) => JSON.stringify(v));
  assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: texts.map((s) => ({ value: Buffer.from(s).toString('base64') })) }, BINARY_V2)).status, 200);
  assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: texts.map((s) => ({ value: s })) }, STRING_V2)).status, 200);
  assert.deepEqual(namesOf(topic), []);
  const hits = jsonValueMemo.hits;
  await readBoth(app, engine, topic, 0);
  assert.equal(jsonValueMemo.hits, hits, 'the first read checked every value');
  assert.equal(namesOf(topic).length, 2, 'and then named both batches, as a read does');
});

test('a batch stored where a named one was, with other bytes, is not taken for it (topic deleted and created again)', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const topic = 'produced-again';
  const values = (last: string) => Array.from({ length: 20 }, (_, i) => (i === 19 ? last : `{"i":${i}}`));
  await engine.createTopic({ name: topic, partitions: 1 });
  const first = values('{"i":19}').map((v) => ({ value: JSON.parse(v) as unknown }));
  assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: first })).status, 200);
  const [named] = namesOf(topic);
  assert.ok(named !== undefined);

  await engine.deleteTopic(topic);
  await engine.createTopic({ name: topic, partitions: 1 });
  // the same place, base offset and size; the last value is not JSON
  const second = values('{"i":19)').map((v) => ({ value: Buffer.from(v).toString('base64') }));
  assert.equal((await post(app, `/topics/${topic}/partitions/0`, { records: second }, BINARY_V2)).status, 200);
  const [again] = await readerNames(engine, topic);
  assert.ok(again !== undefined);
  const place = (name: string) => name.slice(0, name.lastIndexOf(':'));
  assert.equal(place(again), place(named), 'segment, file position, base offset and size all match');
  assert.notEqual(again, named, 'the CRC of the stored bytes differs');
  assert.deepEqual(namesOf(topic), [named], 'the old name is still remembered');

  const res = await readBoth(app, engine, topic, 0);
  assert.equal(res.statusCode, 422, 'the value that is not JSON is found: the old name was not taken for this batch');
  assert.match(res.body, /produced-again-0@19/);
});
