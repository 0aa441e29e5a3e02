/**
 * The records routes' fused path (the embedded engine's record cursors, stored batch bytes straight
 * to JSON) against the object path (engine.fetch's record objects, which engines without cursors
 * use): the same answers byte for byte, the same errors and the same consumer positions, and the
 * same document as toWireRecord, the records' JSON shape, made from fetch's objects.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ConsumerRecord, IsolationLevel, ProducerRecord, StorageEngine } from '../../src/engine/storage-engine';
import { toWireRecord } from '../../src/produce/record-serde';
import { buildTestApp, post, BINARY_V2, JSON_V2, STRING_V2 } from '../helper';
import { V2 } from '../consumer/consumer-client';
import { objectPath } from './object-path';

const FORMATS = { json: JSON_V2, binary: BINARY_V2, string: STRING_V2 } as const;
type Format = keyof typeof FORMATS;

async function raw(app: FastifyInstance, method: 'GET' | 'POST', url: string, accept: string) {
  const res = await app.inject({ method, url, headers: { accept } });
  return { status: res.statusCode, type: res.headers['content-type'], body: res.body };
}

function record(i: number): ProducerRecord {
  const values: Array<string | Buffer | null> = [
    '{"item":"egg","qty":12}',
    ' [1, "two", {"three": 3.5e-1}] ',
    '"a string \\u00e9 \\"quoted\\""',
    null,
    'not json at all',
    Buffer.from([0xff, 0xfe, 0x00, 0x22, 0x5c]),
    'line\nbreak\ttab "quote" é ☃ 𝄞',
    '42',
  ];
  const keys: Array<string | null> = [null, 'user-1', '{"id": 7}', '[not json', '', 'k"ey\\with\u0001control'];
  const value = values[i % values.length] ?? null;
  const key = keys[i % keys.length] ?? null;
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
    headers: i % 3 === 0 ? [{ key: 'trace', value: Buffer.from(`t${i}`) }, { key: 'none', value: null }, { key: 'bin"ary', value: Buffer.from([0xc3, 0x28]) }] : [],
    timestamp: i % 4 === 0 ? undefined : 1_700_000_000_000 + i,
  };
}

/**
 * Topic `name`: plain batches, a transaction that aborts and one that commits (so control batches
 * and aborted records sit between them), and an open transaction's records beyond the last
 * stable offset.
 */
async function fill(engine: StorageEngine, name: string, configs: Record<string, string>): Promise<number> {
  await engine.createTopic({ name, partitions: 1, configs });
  const { firstProducerId } = await engine.allocateProducerIds!(3);
  const txn = (producerId: number, baseSequence: number) => ({ acks: -1 as const, producer: { producerId, producerEpoch: 0, baseSequence }, transactional: true });
  const marker = (producerId: number, commit: boolean) => ({ topic: name, partition: 0, producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });
  let i = 0;
  const next = (n: number) => Array.from({ length: n }, () => record(i++));
  await engine.append(name, 0, next(1), { acks: 1 });
  await engine.append(name, 0, next(12), { acks: 1 });
  await engine.append(name, 0, next(3), txn(firstProducerId, 0));
  await engine.append(name, 0, next(4), { acks: 1 });
  await engine.writeTxnMarkers!([marker(firstProducerId, false)]);
  await engine.append(name, 0, next(5), txn(firstProducerId + 1, 0));
  await engine.writeTxnMarkers!([marker(firstProducerId + 1, true)]);
  await engine.append(name, 0, next(9), { acks: 1 });
  await engine.append(name, 0, next(2), txn(firstProducerId + 2, 0));
  return (await engine.listOffset(name, 0, 'latest', 'read_uncommitted')).offset;
}

/**
 * Confluent's max_bytes as the HTTP layer applied it before the renderer did: records in order while
 * their keys and values fit, and always at least one.
 */
function withinRecordBudget(records: ConsumerRecord[], maxBytes: number): ConsumerRecord[] {
  let used = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as ConsumerRecord;
    used += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    if (used > maxBytes && i > 0) return records.slice(0, i);
  }
  return records;
}

/** What the object path answered before the fused path existed: toWireRecord of fetch's records, within the budget. */
async function reference(engine: StorageEngine, topic: string, offset: number, maxBytes: number, isolationLevel: IsolationLevel, format: Format) {
  const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset }], maxBytes, maxWaitMs: 0, isolationLevel });
  const records = withinRecordBudget(res.partitions[0]!.records, maxBytes);
  try {
    return { status: 200, body: records.map((r) => toWireRecord(format, r)) };
  } catch (err) {
    return { status: 422, error: (err as Error).message };
  }
}

async function setUp(t: TestContext) {
  const { app, engine } = await buildTestApp(t);
  const ends = new Map<string, number>();
  ends.set('plain', await fill(engine, 'plain', {}));
  ends.set('zipped', await fill(engine, 'zipped', { 'compression.type': 'gzip' }));
  ends.set('stamped', await fill(engine, 'stamped', { 'compression.type': 'lz4', 'message.timestamp.type': 'LogAppendTime' }));
  return { app, engine, ends };
}

test('stateless reads: the fused path answers byte for byte as the object path, and the same document as toWireRecord, in every format', async (t) => {
  const { app, engine, ends } = await setUp(t);
  let compared = 0;
  let refused = 0;
  for (const [topic, end] of ends) {
    for (let offset = 0; offset <= end; offset++) {
      for (const maxBytes of [1, 60, 1 << 20]) {
        for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
          for (const format of Object.keys(FORMATS) as Format[]) {
            const url = `/topics/${topic}/partitions/0/records?offset=${offset}&max_bytes=${maxBytes}&isolation_level=${isolation}`;
            const what = `${format} ${url}`;
            const fused = await raw(app, 'GET', url, FORMATS[format]);
            const objects = await objectPath(engine, () => raw(app, 'GET', url, FORMATS[format]));
            assert.deepEqual(fused, objects, what);
            const expected = await reference(engine, topic, offset, maxBytes, isolation, format);
            assert.equal(fused.status, expected.status, `${what}: ${fused.body}`);
            if (expected.status === 200) {
              assert.deepEqual(JSON.parse(fused.body), expected.body, what);
              assert.equal(fused.type, `application/vnd.kafka.${format}.v2+json; charset=utf-8`, what);
            }
            else {
              assert.equal(JSON.parse(fused.body).message, expected.error, what);
              refused++;
            }
            compared++;
          }
        }
      }
    }
  }
  assert.ok(refused > 0 && compared > refused * 2, `${compared} answers compared, ${refused} of them refusals`);
});

test('consumer instances: the fused path delivers the same bytes, the same refusals and the same positions as the object path', async (t) => {
  const { app, engine, ends } = await setUp(t);
  const topics = [...ends.keys()];
  for (const format of Object.keys(FORMATS) as Format[]) {
    for (const maxBytes of [1, 90, 1 << 20]) {
      const bases: string[] = [];
      for (const path of ['fused', 'object']) {
        const group = `g-${format}-${maxBytes}-${path}`;
        assert.equal((await post(app, `/consumers/${group}`, { name: 'c', format, 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' }, V2)).status, 200);
        const base = `/consumers/${group}/instances/c`;
        assert.equal((await post(app, `${base}/assignments`, { partitions: topics.map((topic) => ({ topic, partition: 0 })) }, V2)).status, 204);
        bases.push(base);
      }
      const [fusedBase, objectBase] = bases as [string, string];
      let delivered = 0;
      let before = '';
      for (let round = 0; round < 400; round++) {
        const url = `/records?timeout=0&max_bytes=${maxBytes}`;
        const fused = await raw(app, 'GET', `${fusedBase}${url}`, FORMATS[format]);
        const objects = await objectPath(engine, () => raw(app, 'GET', `${objectBase}${url}`, FORMATS[format]));
        const what = `${format} max_bytes=${maxBytes} round ${round}`;
        assert.deepEqual(fused, objects, what);
        const positions = await raw(app, 'GET', `${fusedBase}/positions`, V2);
        assert.deepEqual(positions, await raw(app, 'GET', `${objectBase}/positions`, V2), `${what}: positions`);
        if (fused.status === 422) {
          // A record the json format cannot show: both stay on it; move both past it.
          const stuck = /Record (\w+)-0@(\d+)/.exec(JSON.parse(fused.body).message);
          assert.ok(stuck !== null, fused.body);
          const offsets = [{ topic: stuck[1], partition: 0, offset: Number(stuck[2]) + 1 }];
          for (const base of bases) assert.equal((await post(app, `${base}/positions`, { offsets }, V2)).status, 204);
          continue;
        }
        assert.equal(fused.status, 200, fused.body);
        const records = JSON.parse(fused.body) as unknown[];
        // An empty answer can still move positions (past control batches and aborted records).
        if (records.length === 0 && positions.body === before) break;
        before = positions.body;
        delivered += records.length;
      }
      // Every committed record of every topic is delivered or refused once; none is read twice.
      const done = JSON.parse((await raw(app, 'GET', `${fusedBase}/positions`, V2)).body).offsets as Array<{ topic: string; offset: number }>;
      for (const { topic, offset } of done) {
        assert.equal(offset, (await engine.listOffset(topic, 0, 'latest', 'read_committed')).offset, `${format} max_bytes=${maxBytes}: ${topic} read to its last stable offset`);
      }
      assert.ok(delivered > 0, `${format} max_bytes=${maxBytes}: delivered ${delivered}`);
    }
  }
});

test('a corrupt stored batch: both paths answer the same error, and the records before it are still read', async (t) => {
  const { app, engine, dataDir } = await buildTestApp(t);
  await engine.createTopic({ name: 'c', partitions: 1 });
  await engine.append('c', 0, [record(1), record(2)], { acks: -1 });
  await engine.append('c', 0, [record(7), record(9)], { acks: -1 });
  // The second batch's first record: its key length varint, 61 bytes into the batch plus length, attributes, two deltas.
  const file = join(dataDir, 'c-0', '00000000000000000000.log');
  const bytes = readFileSync(file);
  const second = 12 + bytes.readInt32BE(8);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([0x7e]), 0, 1, second + 61 + 4);
  closeSync(fd);
  for (const format of Object.keys(FORMATS) as Format[]) {
    for (const offset of [0, 2, 3]) {
      const url = `/topics/c/partitions/0/records?offset=${offset}&max_bytes=${offset === 0 ? 1 : 1 << 20}`;
      const fused = await raw(app, 'GET', url, FORMATS[format]);
      const objects = await objectPath(engine, () => raw(app, 'GET', url, FORMATS[format]));
      if (offset === 0) {
        // A budget of one byte fetches the first batch alone: the damage is not reached on either path.
        assert.deepEqual(fused, objects, `${format} ${url}`);
        assert.deepEqual(JSON.parse(fused.body).map((r: { offset: number }) => r.offset), [0], `${format} ${url}`);
        continue;
      }
      assert.deepEqual([fused.status, JSON.parse(fused.body).error_code], [objects.status, JSON.parse(objects.body).error_code], `${format} ${url}`);
      assert.equal(fused.status, 500, `${format} ${url}: ${fused.body}`);
      assert.match(JSON.parse(fused.body).message, /Corrupt record batch/);
    }
  }
});
