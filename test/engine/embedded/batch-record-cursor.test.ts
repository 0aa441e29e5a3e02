/**
 * The embedded engine's fetchCursors against its fetch: for every request the cursors yield exactly
 * the records fetch decodes (offsets, timestamps, keys, values, headers), with the same positions and
 * errors, across codecs, timestamp types, transactions and byte budgets. And a malformed batch is
 * CORRUPT_MESSAGE through a cursor as it is through the decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import { BatchRecordCursor } from '../../../src/engine/embedded/batch-record-cursor';
import { decodeRecords, encodeRecordBatch, readBatchHeader } from '../../../src/engine/embedded/codec/record-batch';
import type { ConsumerRecord, FetchRequest, IsolationLevel, ProducerRecord, RecordCursor } from '../../../src/engine/storage-engine';
import { startEngine, tempDir } from './helpers';

/** What a cursor yields, as the record objects fetch returns. */
function drain(topic: string, partition: number, cursor: RecordCursor): ConsumerRecord[] {
  const out: ConsumerRecord[] = [];
  while (cursor.next()) {
    out.push({
      topic,
      partition,
      offset: cursor.offset,
      timestamp: cursor.timestamp,
      timestampType: cursor.timestampType,
      key: cursor.keyEnd === -1 ? null : Buffer.from(cursor.keyBytes.subarray(cursor.keyStart, cursor.keyEnd)),
      value: cursor.valueEnd === -1 ? null : Buffer.from(cursor.valueBytes.subarray(cursor.valueStart, cursor.valueEnd)),
      headers: cursor.headerCount === 0 ? [] : cursor.headers().map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
    });
  }
  return out;
}

async function assertSameFetch(engine: EmbeddedEngine, request: FetchRequest, what: string): Promise<number> {
  const objects = await engine.fetch(request);
  const cursors = await engine.fetchCursors(request);
  assert.equal(cursors.partitions.length, objects.partitions.length, what);
  let records = 0;
  objects.partitions.forEach((expected, i) => {
    const actual = cursors.partitions[i]!;
    const { records: cursor, empty, ...positions } = actual;
    const { records: list, ...expectedPositions } = expected;
    assert.deepEqual(positions, expectedPositions, `${what}: positions of ${expected.topic}-${expected.partition}`);
    const from = request.partitions[i]!.offset;
    const wanted = list.filter((r) => r.offset >= from);
    assert.deepEqual(drain(actual.topic, actual.partition, cursor), wanted, `${what}: records of ${expected.topic}-${expected.partition}`);
    assert.equal(empty, wanted.length === 0, `${what}: empty`);
    records += wanted.length;
  });
  return records;
}

function varied(n: number, base: number): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const k = base + i;
    return {
      key: k % 5 === 0 ? null : Buffer.from(`key-${k}`),
      value: k % 7 === 0 ? null : k % 3 === 0 ? Buffer.from([0xff, 0x00, k & 0xff]) : Buffer.from(JSON.stringify({ k, text: 'é"\\'.repeat(k % 4) })),
      headers: k % 4 === 0 ? [{ key: 'trace', value: Buffer.from(`t${k}`) }, { key: 'nothing', value: null }, { key: 'empty', value: Buffer.alloc(0) }] : undefined,
      timestamp: k % 6 === 0 ? undefined : 1_700_000_000_000 + k * 1000,
    };
  });
}

test('fetchCursors yields what fetch decodes: every codec, both timestamp types, mid-batch offsets, byte budgets, several partitions', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  const topics: string[] = [];
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    for (const timestampType of ['CreateTime', 'LogAppendTime']) {
      const topic = `${compression}-${timestampType}`;
      topics.push(topic);
      await engine.createTopic({ name: topic, partitions: 2, configs: { 'compression.type': compression, 'message.timestamp.type': timestampType } });
      let base = 0;
      for (const size of [1, 17, 3, 40, 1, 9]) {
        await engine.append(topic, base % 2, varied(size, base), { acks: 1 });
        await engine.append(topic, 1 - (base % 2), varied(size, base + 1000), { acks: 1 });
        base += size;
      }
    }
  }
  let compared = 0;
  for (const topic of topics) {
    for (const offset of [0, 1, 5, 20, 61, 70]) {
      for (const maxBytes of [1, 300, 1 << 20]) {
        for (const isolationLevel of ['read_committed', 'read_uncommitted'] as IsolationLevel[]) {
          const request: FetchRequest = {
            partitions: [{ topic, partition: 0, offset }, { topic, partition: 1, offset: Math.max(0, offset - 3) }],
            maxBytes,
            maxWaitMs: 0,
            isolationLevel,
          };
          compared += await assertSameFetch(engine, request, `${topic} from ${offset} within ${maxBytes} (${isolationLevel})`);
        }
      }
    }
  }
  assert.ok(compared > 10_000, `compared ${compared} records`);
});

test('fetchCursors under transactions: control batches and aborted records are left out as fetch leaves them out; errors are the same', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 't', partitions: 1 });
  const txn = (producerId: number, baseSequence: number) => ({ acks: -1 as const, producer: { producerId, producerEpoch: 0, baseSequence }, transactional: true });
  const marker = (producerId: number, commit: boolean) => ({ topic: 't', partition: 0, producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });
  await engine.append('t', 0, varied(3, 0), { acks: -1 });
  await engine.append('t', 0, varied(4, 10), txn(7, 0));
  await engine.append('t', 0, varied(2, 20), txn(8, 0));
  await engine.writeTxnMarkers([marker(7, false)]);
  await engine.append('t', 0, varied(5, 30), txn(8, 2));
  await engine.writeTxnMarkers([marker(8, true)]);
  await engine.append('t', 0, varied(2, 40), txn(9, 0));
  await engine.writeTxnMarkers([marker(9, false)]);
  const end = (await engine.listOffset('t', 0, 'latest')).offset;
  for (let offset = 0; offset <= end; offset++) {
    for (const isolationLevel of ['read_committed', 'read_uncommitted'] as IsolationLevel[]) {
      await assertSameFetch(engine, { partitions: [{ topic: 't', partition: 0, offset }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel }, `from ${offset} (${isolationLevel})`);
    }
  }
  // Only control batches after the offset: no record, and the next offset moves past them.
  const tail = await engine.fetchCursors({ partitions: [{ topic: 't', partition: 0, offset: end - 1 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
  assert.equal(tail.partitions[0]!.empty, true);
  assert.equal(tail.partitions[0]!.nextOffset, end);
  const errors: FetchRequest = {
    partitions: [{ topic: 't', partition: 0, offset: end + 5 }, { topic: 'nope', partition: 0, offset: 0 }],
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    isolationLevel: 'read_committed',
  };
  await assertSameFetch(engine, errors, 'out of range and unknown partition');
  const cursors = await engine.fetchCursors(errors);
  assert.deepEqual(cursors.partitions.map((p) => p.error?.code), ['OFFSET_OUT_OF_RANGE', 'UNKNOWN_TOPIC_OR_PARTITION']);
});

test('a malformed batch is CORRUPT_MESSAGE through a cursor, as the decoder refuses it', () => {
  const good = encodeRecordBatch(
    [
      { key: Buffer.from('k'), value: Buffer.from('first'), timestamp: 1 },
      { key: null, value: Buffer.from('second'), timestamp: 2 },
    ],
    { baseOffset: 100 },
  );
  const scanned = (buf: Buffer) => [{ header: readBatchHeader(buf, 0), buf, pos: 0, filePosition: 0 }];
  const cursorOver = (buf: Buffer) => new BatchRecordCursor(scanned(buf), 0, Number.MAX_SAFE_INTEGER, 't-0 segment 0');
  const all = (buf: Buffer) => {
    const cursor = cursorOver(buf);
    const offsets: number[] = [];
    while (cursor.next()) offsets.push(cursor.offset);
    return offsets;
  };
  assert.deepEqual(all(good), [100, 101]);
  assert.deepEqual(
    decodeRecords(good).map((r) => r.offset),
    [100, 101],
  );
  const damages: Array<[string, (b: Buffer) => void]> = [
    ['a record count past the bytes', (b) => b.writeInt32BE(50, 57)],
    ['one record fewer than the bytes hold', (b) => b.writeInt32BE(1, 57)],
    ['a record length past the batch', (b) => (b[61] = 0x7e)],
    ['a key length past the record', (b) => (b[61 + 4] = 0x40)],
  ];
  for (const [what, damage] of damages) {
    const bad = Buffer.from(good);
    damage(bad);
    assert.throws(() => decodeRecords(bad), { name: 'CorruptBatchError' }, `decoder: ${what}`);
    assert.throws(() => all(bad), (err: any) => err.code === 'CORRUPT_MESSAGE' && /t-0 segment 0/.test(err.message), `cursor: ${what}`);
  }
  // A compressed batch's CRC is checked before its bytes reach the decompressor, on both paths.
  const gz = encodeRecordBatch([{ key: null, value: Buffer.from('x'.repeat(200)), timestamp: 1 }], { baseOffset: 0, compression: 1 });
  gz[gz.length - 3]! ^= 0xff;
  assert.throws(() => decodeRecords(gz), /CRC/);
  assert.throws(() => all(gz), (err: any) => err.code === 'CORRUPT_MESSAGE' && /CRC/.test(err.message));
});
