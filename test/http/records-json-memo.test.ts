/**
 * The memo of stored batches whose values are all JSON (json-value-memo.ts): json reads that skip
 * checking remembered batches answer byte for byte as the object path, which checks every value,
 * on first reads and on re-reads; a batch with a value that is not JSON, a batch read only in part
 * and a small batch are never remembered; the memo names a batch by its bytes' CRC too and stays
 * within its bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProducerRecord } from '../../src/engine/storage-engine';
import type { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import { JsonValueMemo, jsonValueMemo } from '../../src/engine/embedded/json-value-memo';
import { BatchRecordCursor } from '../../src/engine/embedded/batch-record-cursor';
import { encodeRecordBatch, readBatchHeader } from '../../src/engine/embedded/codec/record-batch';
import { renderSources } from '../../src/http/routes/consumers/records-json';
import { buildTestApp, JSON_V2 } from '../helper';
import { objectPath } from './object-path';

function jsonRecords(from: number, n: number, bad = -1): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: i === bad ? Buffer.from('not json') : i % 7 === 3 ? null : Buffer.from(JSON.stringify({ id: from + i, note: 'é "quoted"', list: [1, 2.5, true] })),
    headers: i % 5 === 0 ? [{ key: 'h', value: Buffer.from('v') }] : [],
  }));
}

/** The memo's entries for a topic's partition 0: names start with the partition. */
function remembered(topic: string): number {
  let n = 0;
  for (const key of jsonValueMemo.keys()) if (key.startsWith(`${topic}-0 `)) n++;
  return n;
}

test('json reads with the memo answer as the object path on first reads and re-reads; only whole, all-JSON batches of 16 records or more are remembered', async (t) => {
  const { app, engine } = await buildTestApp(t);
  for (const [topic, configs] of [['memo-plain', {}], ['memo-zipped', { 'compression.type': 'gzip' }]] as const) {
    await engine.createTopic({ name: topic, partitions: 1, configs });
    await engine.append(topic, 0, jsonRecords(0, 40), { acks: 1 }); // offsets 0-39: all JSON
    await engine.append(topic, 0, jsonRecords(40, 30, 17), { acks: 1 }); // 40-69: offset 57 is not JSON
    await engine.append(topic, 0, jsonRecords(70, 8), { acks: 1 }); // 70-77: too small to remember
    await engine.append(topic, 0, jsonRecords(78, 20), { acks: 1 }); // 78-97: all JSON, read first from its middle
    const read = async (offset: number, maxBytes: number) => {
      const url = `/topics/${topic}/partitions/0/records?offset=${offset}&max_bytes=${maxBytes}`;
      const fused = await app.inject({ method: 'GET', url, headers: { accept: JSON_V2 } });
      const objects = await objectPath(engine, () => app.inject({ method: 'GET', url, headers: { accept: JSON_V2 } }));
      assert.equal(fused.statusCode, objects.statusCode, url);
      assert.equal(fused.body, objects.body, url);
      return fused;
    };
    assert.equal(remembered(topic), 0);
    await read(85, 1 << 20); // the last batch from its middle: not all of it checked
    assert.equal(remembered(topic), 0, 'a batch read in part');
    await read(0, 200); // the first batch in part, under a small budget
    assert.equal(remembered(topic), 0, 'a batch cut by max_bytes');
    // The whole first batch, then the second up to its bad record, which the stateless read refuses
    // whole: the first batch's values were all checked all the same.
    assert.equal((await read(0, 1 << 20)).statusCode, 422);
    assert.equal(remembered(topic), 1, 'the first batch, checked whole');
    for (let round = 0; round < 2; round++) {
      for (const offset of [0, 20, 39, 40, 56, 57, 58, 70, 78, 90]) await read(offset, 1 << 20);
      assert.equal((await read(57, 1 << 20)).statusCode, 422, 'the bad record is still refused');
    }
    // The first and the last batch (read whole from offset 78); never the one holding a bad value, nor the small one.
    assert.equal(remembered(topic), 2);
  }
  const log = (engine as EmbeddedEngine).partitionLog('memo-plain', 0)!;
  const batchRead = await log.readBatches(0, 1 << 20);
  const cursor = new BatchRecordCursor(batchRead.batches, batchRead.from, batchRead.upTo, `memo-plain-0 segment ${batchRead.segmentBaseOffset}`);
  const known: boolean[] = [];
  while (cursor.next()) if (cursor.offset === 0 || cursor.offset === 40 || cursor.offset === 70 || cursor.offset === 78) known.push(cursor.valuesAreJson);
  assert.deepEqual(known, [true, false, false, true], 'valuesAreJson per batch');
});

test('a remembered batch is named by its bytes: a batch at the same place with other bytes is not taken for it', () => {
  const encode = (note: string) => {
    const records = Array.from({ length: 20 }, (_, i) => ({ key: null, value: Buffer.from(i === 19 ? note : `{"i":${i}}`), timestamp: 1_700_000_000_000 }));
    const buf = encodeRecordBatch(records, { baseOffset: 100 });
    return { header: readBatchHeader(buf, 0), buf, pos: 0, filePosition: 4096 };
  };
  const json = encode('{"i":19}');
  const other = encode('{"i":19)');
  assert.equal(json.buf.length, other.buf.length);
  const where = 'memo-bytes-0 segment 0';
  const memo = new JsonValueMemo();
  memo.add(JsonValueMemo.keyOf(where, json));
  assert.equal(memo.has(JsonValueMemo.keyOf(where, json)), true);
  assert.equal(memo.has(JsonValueMemo.keyOf(where, other)), false);
  // Through the renderer: the other batch's last value is refused although it sits where the JSON one was.
  jsonValueMemo.add(JsonValueMemo.keyOf(where, json));
  const rendered = renderSources('json', [{ topic: 'memo-bytes', partition: 0, records: new BatchRecordCursor([other], 100, 120, where) }]);
  assert.equal(rendered.count, 19);
  assert.equal(rendered.failed?.offset, 119);
});

test('the memo keeps at most its bound, forgetting the oldest first', () => {
  const memo = new JsonValueMemo(3);
  for (const key of ['a', 'b', 'c', 'd', 'b']) memo.add(key);
  assert.equal(memo.size, 3);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => memo.has(k)), [false, true, true, true]);
  // past the bound many times over: always the newest three, oldest first
  for (let i = 0; i < 20; i++) memo.add(`k${i}`);
  assert.deepEqual([...memo.keys()], ['k17', 'k18', 'k19']);
  memo.clear();
  for (const key of ['x', 'y', 'z', 'w']) memo.add(key);
  assert.deepEqual([...memo.keys()], ['y', 'z', 'w']);
});
