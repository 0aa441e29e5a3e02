/**
 * Cross-checks the codec against kafkajs's record batch implementation, a second and independent
 * encoder/decoder of the same v2 format: each side must read what the other wrote, and with the
 * same inputs and attributes both must produce the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  decodeRecords,
  encodeRecordBatch,
  isBatchCrcValid,
  readBatchHeader,
  RecordInput,
} from '../../../../src/engine/embedded/codec/record-batch';

import { kafkajsDecode, kafkaRecord, kafkaRecordBatch, Long, type KafkajsRecord } from './kafkajs-batch';

const T0 = 1_700_000_000_000;

/** kafkajs's header shape: an object, repeated keys collected into arrays in order. */
function asKafkajsHeaders(headers: RecordInput['headers']): KafkajsRecord['headers'] {
  const out: KafkajsRecord['headers'] = {};
  for (const { key, value } of headers ?? []) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** Encodes with kafkajs's own encoder, passing the fields ours fills in so that the inputs are equal. */
async function kafkajsEncode(
  records: RecordInput[],
  opts: { baseOffset: number; producerId?: number; producerEpoch?: number; baseSequence?: number; transactional?: boolean },
): Promise<Buffer> {
  const base = records[0].timestamp;
  const encoded = records.map((r, i) =>
    kafkaRecord({
      offsetDelta: i,
      timestampDelta: r.timestamp - base,
      key: r.key,
      value: r.value,
      headers: asKafkajsHeaders(r.headers),
    }),
  );
  const batch = await kafkaRecordBatch({
    firstOffset: Long.fromNumber(opts.baseOffset),
    firstTimestamp: base,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromNumber(opts.producerId ?? -1),
    producerEpoch: opts.producerEpoch ?? -1,
    firstSequence: opts.baseSequence ?? -1,
    transactional: opts.transactional ?? false,
    records: encoded,
  });
  return batch.buffer;
}

function sample(count: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const headers =
      i % 4 === 0
        ? [
            { key: 'trace-id', value: randomBytes(8) },
            { key: 'ключ-🔑', value: Buffer.from('unicode') },
          ]
        : i % 4 === 1
          ? [
              { key: 'dup', value: Buffer.from('a') },
              { key: 'dup', value: Buffer.from('b') },
            ]
          : undefined;
    out.push({
      key: i % 5 === 0 ? null : i % 5 === 1 ? Buffer.alloc(0) : randomBytes(1 + (i % 40)),
      value: i % 9 === 0 ? null : randomBytes(i % 300),
      timestamp: T0 + ((i * 7919) % 5000) - 2500,
      headers,
    });
  }
  return out;
}

test('batches we encode decode with kafkajs to the same records and header fields', async () => {
  for (const count of [1, 3, 200]) {
    const input = sample(count);
    const buf = encodeRecordBatch(input, { baseOffset: 5_000_000_000, producerId: 4321, producerEpoch: 3, baseSequence: 17 });
    const batch = await kafkajsDecode(buf);
    assert.equal(batch.firstOffset, '5000000000');
    assert.equal(batch.firstTimestamp, String(input[0].timestamp));
    assert.equal(batch.maxTimestamp, String(Math.max(...input.map((r) => r.timestamp))));
    assert.equal(batch.producerId, '4321');
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.firstSequence, 17);
    assert.equal(batch.lastOffsetDelta, count - 1);
    assert.equal(batch.records.length, count);
    batch.records.forEach((r, i) => {
      assert.equal(r.offset, String(5_000_000_000 + i));
      assert.equal(r.timestamp, String(input[i].timestamp));
      assert.deepEqual(r.key, input[i].key);
      assert.deepEqual(r.value, input[i].value);
      assert.deepEqual(r.headers, asKafkajsHeaders(input[i].headers));
    });
  }
});

test('null header values we encode decode as null in kafkajs', async () => {
  const input: RecordInput[] = [{ key: null, value: Buffer.from('v'), timestamp: T0, headers: [{ key: 'gone', value: null }] }];
  const batch = await kafkajsDecode(encodeRecordBatch(input, { baseOffset: 0 }));
  assert.deepEqual(batch.records[0].headers, { gone: null });
});

test('batches kafkajs encodes decode with ours, with a valid CRC', async () => {
  const input = sample(150);
  const buf = await kafkajsEncode(input, { baseOffset: 77, producerId: 9, producerEpoch: 1, baseSequence: 0, transactional: true });
  assert.ok(isBatchCrcValid(buf));
  const h = readBatchHeader(buf);
  assert.equal(h.sizeInBytes, buf.length);
  assert.equal(h.baseOffset, 77);
  assert.equal(h.producerId, 9);
  assert.equal(h.isTransactional, true);
  const records = decodeRecords(buf);
  assert.equal(records.length, input.length);
  records.forEach((r, i) => {
    assert.equal(r.offset, 77 + i);
    assert.equal(r.timestamp, input[i].timestamp);
    assert.deepEqual(r.key, input[i].key);
    assert.deepEqual(r.value, input[i].value);
    assert.deepEqual(r.headers, input[i].headers ?? []);
  });
});

test('with equal inputs and attributes the two encoders produce identical bytes', async () => {
  for (const [count, opts] of [
    [1, { baseOffset: 0 }],
    [50, { baseOffset: 123_456, producerId: 2 ** 40, producerEpoch: 7, baseSequence: 1000 }],
    [500, { baseOffset: 9, producerId: 5, producerEpoch: 0, baseSequence: 0, transactional: true }],
  ] as const) {
    const input = sample(count);
    const theirs = await kafkajsEncode(input, opts);
    const ours = encodeRecordBatch(input, {
      baseOffset: opts.baseOffset,
      producerId: 'producerId' in opts ? opts.producerId : undefined,
      producerEpoch: 'producerEpoch' in opts ? opts.producerEpoch : undefined,
      baseSequence: 'baseSequence' in opts ? opts.baseSequence : undefined,
      isTransactional: 'transactional' in opts ? opts.transactional : undefined,
    });
    assert.equal(ours.length, theirs.length, `${count} records: sizes`);
    assert.ok(ours.equals(theirs), `${count} records: bytes differ at ${ours.findIndex((b, i) => b !== theirs[i])}`);
  }
});
