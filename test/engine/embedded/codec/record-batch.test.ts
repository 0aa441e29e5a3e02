import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  BATCH_HEADER_SIZE,
  CorruptBatchError,
  decodeRecords,
  encodeRecordBatch,
  isBatchCrcValid,
  LOG_OVERHEAD,
  MAGIC_V2,
  readBatchHeader,
  RecordInput,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from '../../../../src/engine/embedded/codec/record-batch';

const T0 = 1_700_000_000_000;

function assertSameRecords(decoded: ReturnType<typeof decodeRecords>, input: RecordInput[], baseOffset: number): void {
  assert.equal(decoded.length, input.length);
  for (let i = 0; i < input.length; i++) {
    const d = decoded[i];
    const r = input[i];
    assert.equal(d.offset, baseOffset + i, `offset of record ${i}`);
    assert.equal(d.timestamp, r.timestamp, `timestamp of record ${i}`);
    assert.deepEqual(d.key, r.key, `key of record ${i}`);
    assert.deepEqual(d.value, r.value, `value of record ${i}`);
    assert.deepEqual(d.headers, r.headers ?? [], `headers of record ${i}`);
  }
}

const varied: RecordInput[] = [
  { key: null, value: Buffer.from('null key'), timestamp: T0 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 + 5 },
  { key: Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x01]), value: null, timestamp: T0 - 3 },
  {
    key: Buffer.from('k'),
    value: Buffer.from('{"a":1}'),
    timestamp: T0 + 100_000,
    headers: [
      { key: 'trace-id', value: Buffer.from('abc') },
      { key: 'empty', value: Buffer.alloc(0) },
      { key: 'nothing', value: null },
      { key: 'ключ-键-🔑', value: Buffer.from('unicode key') },
      { key: 'trace-id', value: Buffer.from('duplicate keys keep their order') },
    ],
  },
  { key: randomBytes(300), value: randomBytes(20_000), timestamp: T0, headers: [] },
];

test('round trip: null, empty and binary keys, null values, headers with null values and unicode keys', () => {
  const buf = encodeRecordBatch(varied, { baseOffset: 42 });
  assert.ok(isBatchCrcValid(buf));
  assertSameRecords(decodeRecords(buf), varied, 42);
});

test('round trip of a single record and of 10,000 records', () => {
  const one: RecordInput[] = [{ key: Buffer.from('only'), value: Buffer.from('one'), timestamp: T0 }];
  assertSameRecords(decodeRecords(encodeRecordBatch(one, { baseOffset: 0 })), one, 0);

  const many: RecordInput[] = [];
  for (let i = 0; i < 10_000; i++) {
    many.push({
      key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 7 === 0 ? null : Buffer.from(`value-${i}-${'x'.repeat(i % 150)}`),
      timestamp: T0 + i * 13 - (i % 5) * 1000,
      headers: i % 11 === 0 ? [{ key: `h${i}`, value: Buffer.from([i & 0xff]) }] : undefined,
    });
  }
  const buf = encodeRecordBatch(many, { baseOffset: 2 ** 40 });
  const header = readBatchHeader(buf);
  assert.equal(header.recordCount, 10_000);
  assert.equal(header.lastOffset, 2 ** 40 + 9_999);
  assert.equal(header.sizeInBytes, buf.length);
  assertSameRecords(decodeRecords(buf), many, 2 ** 40);
});

test('header fields: defaults, counts, timestamps and derived values', () => {
  const buf = encodeRecordBatch(varied, { baseOffset: 1000 });
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 1000);
  assert.equal(h.batchLength, buf.length - LOG_OVERHEAD);
  assert.equal(h.sizeInBytes, buf.length);
  assert.equal(h.partitionLeaderEpoch, 0);
  assert.equal(h.magic, MAGIC_V2);
  assert.equal(h.attributes, 0);
  assert.equal(h.lastOffsetDelta, varied.length - 1);
  assert.equal(h.lastOffset, 1000 + varied.length - 1);
  assert.equal(h.baseTimestamp, T0, 'baseTimestamp is the first record\'s, as Kafka\'s builder writes it');
  assert.equal(h.maxTimestamp, T0 + 100_000);
  assert.equal(h.producerId, -1);
  assert.equal(h.producerEpoch, -1);
  assert.equal(h.baseSequence, -1);
  assert.equal(h.recordCount, varied.length);
  assert.equal(h.compression, 0);
  assert.equal(h.timestampType, 'CreateTime');
  assert.equal(h.isTransactional, false);
  assert.equal(h.isControl, false);
});

test('producer fields, transactional and control bits, leader epoch are written where Kafka reads them', () => {
  const buf = encodeRecordBatch([{ key: null, value: Buffer.from('v'), timestamp: T0 }], {
    baseOffset: 7,
    producerId: 2 ** 45 + 3,
    producerEpoch: 12,
    baseSequence: 99,
    isTransactional: true,
    isControl: true,
    partitionLeaderEpoch: 5,
  });
  const h = readBatchHeader(buf);
  assert.equal(h.producerId, 2 ** 45 + 3);
  assert.equal(buf.readBigInt64BE(43), BigInt(2 ** 45 + 3));
  assert.equal(h.producerEpoch, 12);
  assert.equal(h.baseSequence, 99);
  assert.equal(h.partitionLeaderEpoch, 5);
  assert.equal(h.attributes, 0x10 | 0x20);
  assert.equal(h.isTransactional, true);
  assert.equal(h.isControl, true);
  assert.ok(isBatchCrcValid(buf));
});

test('LogAppendTime: maxTimestamp is the append time and every record reads it', () => {
  const input: RecordInput[] = [
    { key: null, value: Buffer.from('a'), timestamp: T0 },
    { key: null, value: Buffer.from('b'), timestamp: T0 + 10 },
  ];
  const buf = encodeRecordBatch(input, { baseOffset: 0, timestampType: 'LogAppendTime', logAppendTime: T0 + 777 });
  const h = readBatchHeader(buf);
  assert.equal(h.timestampType, 'LogAppendTime');
  assert.equal(h.attributes & 0x08, 0x08);
  assert.equal(h.maxTimestamp, T0 + 777);
  assert.equal(h.baseTimestamp, T0);
  assert.deepEqual(decodeRecords(buf).map((r) => r.timestamp), [T0 + 777, T0 + 777]);
});

test('setLogAppendTime stamps an existing batch and keeps its CRC valid', () => {
  const buf = encodeRecordBatch([{ key: null, value: Buffer.from('a'), timestamp: T0 }], { baseOffset: 3 });
  setLogAppendTime(buf, 0, T0 + 5);
  assert.ok(isBatchCrcValid(buf));
  assert.equal(readBatchHeader(buf).timestampType, 'LogAppendTime');
  assert.equal(decodeRecords(buf)[0].timestamp, T0 + 5);
});

test('CRC: valid as encoded, and any flipped byte from the attributes on is detected', () => {
  const buf = encodeRecordBatch(varied.slice(0, 4), { baseOffset: 0 });
  assert.ok(isBatchCrcValid(buf));
  for (let i = 21; i < buf.length; i++) {
    buf[i] ^= 0xff;
    assert.equal(isBatchCrcValid(buf), false, `flip at byte ${i}`);
    buf[i] ^= 0xff;
  }
  buf[17] ^= 0x01; // the stored CRC itself
  assert.equal(isBatchCrcValid(buf), false);
  buf[17] ^= 0x01;
  assert.ok(isBatchCrcValid(buf));
});

test('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid and move the offsets', () => {
  const input = varied.slice(0, 3);
  const buf = encodeRecordBatch(input, { baseOffset: 0 });
  const crc = readBatchHeader(buf).crc;
  setBaseOffset(buf, 0, 123_456_789_012);
  setPartitionLeaderEpoch(buf, 0, 9);
  assert.ok(isBatchCrcValid(buf));
  const h = readBatchHeader(buf);
  assert.equal(h.crc, crc);
  assert.equal(h.baseOffset, 123_456_789_012);
  assert.equal(h.partitionLeaderEpoch, 9);
  assert.deepEqual(decodeRecords(buf).map((r) => r.offset), [123_456_789_012, 123_456_789_013, 123_456_789_014]);
});

test('batches laid end to end are read at their positions; records are views into the buffer', () => {
  const a = encodeRecordBatch([{ key: null, value: Buffer.from('first'), timestamp: T0 }], { baseOffset: 0 });
  const b = encodeRecordBatch(
    [
      { key: Buffer.from('k1'), value: Buffer.from('second'), timestamp: T0 },
      { key: Buffer.from('k2'), value: Buffer.from('third'), timestamp: T0 },
    ],
    { baseOffset: 1 },
  );
  const log = Buffer.concat([a, b]);
  const second = readBatchHeader(log, 0).sizeInBytes;
  assert.equal(second, a.length);
  assert.ok(isBatchCrcValid(log, 0));
  assert.ok(isBatchCrcValid(log, second));
  assert.deepEqual(decodeRecords(log, 0).map((r) => r.value?.toString()), ['first']);
  const records = decodeRecords(log, second);
  assert.deepEqual(records.map((r) => [r.offset, r.value?.toString()]), [[1, 'second'], [2, 'third']]);
  assert.equal(records[0].value!.buffer, log.buffer, 'value is a view, not a copy');
});

test('a torn batch: CRC check says false, header needs 61 bytes, decode refuses', () => {
  const buf = encodeRecordBatch(varied.slice(0, 2), { baseOffset: 0 });
  const torn = buf.subarray(0, buf.length - 1);
  assert.equal(isBatchCrcValid(torn), false);
  assert.equal(isBatchCrcValid(buf.subarray(0, 30)), false);
  assert.throws(() => decodeRecords(torn), CorruptBatchError);
  assert.equal(readBatchHeader(buf.subarray(0, BATCH_HEADER_SIZE)).sizeInBytes, buf.length);
  assert.throws(() => readBatchHeader(buf.subarray(0, BATCH_HEADER_SIZE - 1)), CorruptBatchError);
  assert.throws(() => readBatchHeader(buf, buf.length - 10), CorruptBatchError);
});

test('readBatchHeader rejects magic other than 2', () => {
  const buf = encodeRecordBatch([{ key: null, value: null, timestamp: T0 }], { baseOffset: 0 });
  buf[16] = 1;
  assert.throws(() => readBatchHeader(buf), (err: unknown) => err instanceof CorruptBatchError && /magic 1/.test(err.message));
});

test('a batch whose attributes name a codec its payload is not in is corrupt, never garbage', () => {
  for (let codec = 1; codec <= 6; codec++) {
    const buf = encodeRecordBatch([{ key: null, value: Buffer.from('x'), timestamp: T0 }], { baseOffset: 0 });
    buf.writeInt16BE(codec, 21);
    assert.equal(readBatchHeader(buf).compression, codec);
    assert.throws(() => decodeRecords(buf), CorruptBatchError, `codec ${codec}`);
  }
});

test('malformed record sections throw CorruptBatchError, never another error or garbage', () => {
  const clean = encodeRecordBatch(varied.slice(0, 4), { baseOffset: 0 });
  // An inflated record count.
  const inflated = Buffer.from(clean);
  inflated.writeInt32BE(5, 57);
  assert.throws(() => decodeRecords(inflated), CorruptBatchError);
  // A deflated record count leaves bytes after the last record.
  const deflated = Buffer.from(clean);
  deflated.writeInt32BE(3, 57);
  assert.throws(() => decodeRecords(deflated), CorruptBatchError);
  // Random damage to the records: decode either succeeds or throws CorruptBatchError.
  let rejected = 0;
  for (let trial = 0; trial < 1000; trial++) {
    const damaged = Buffer.from(clean);
    const at = BATCH_HEADER_SIZE + Math.floor(Math.random() * (clean.length - BATCH_HEADER_SIZE));
    damaged[at] = Math.floor(Math.random() * 256);
    try {
      decodeRecords(damaged);
    } catch (err) {
      assert.ok(err instanceof CorruptBatchError, `trial ${trial}: ${String(err)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 0, 'some damage must be structural');
});

test('encode rejects an empty batch and non-integer timestamps', () => {
  assert.throws(() => encodeRecordBatch([], { baseOffset: 0 }), RangeError);
  assert.throws(() => encodeRecordBatch([{ key: null, value: null, timestamp: NaN }], { baseOffset: 0 }), RangeError);
  assert.throws(
    () =>
      encodeRecordBatch(
        [
          { key: null, value: null, timestamp: T0 },
          { key: null, value: null, timestamp: 1.5 },
        ],
        { baseOffset: 0 },
      ),
    RangeError,
  );
});

test('encoding a bigger batch after a smaller one and vice versa gives independent, correct buffers', () => {
  const big: RecordInput[] = Array.from({ length: 3000 }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: T0 + i }));
  const small = varied.slice(0, 2);
  const s1 = encodeRecordBatch(small, { baseOffset: 0 });
  const b1 = encodeRecordBatch(big, { baseOffset: 0 });
  const s2 = encodeRecordBatch(small, { baseOffset: 0 });
  assert.deepEqual(s1, s2);
  assertSameRecords(decodeRecords(b1), big, 0);
  assertSameRecords(decodeRecords(s1), small, 0);
});

test('records without a timestamp take the batch default, first or not, and sizes stay exact', () => {
  const now = T0 + 5000;
  const cases = [
    [{ timestamp: T0 }, {}, { timestamp: T0 + 99_999 }, {}],
    [{}, { timestamp: T0 }, {}],
    [{}, {}],
  ];
  for (const stamps of cases) {
    const records = stamps.map((s, i) => ({ key: `k${i}`, value: Buffer.from(`value ${i}`), ...s }));
    const batch = encodeRecordBatch(records, { baseOffset: 7, defaultTimestamp: now });
    assert.equal(isBatchCrcValid(batch), true);
    const decoded = decodeRecords(batch);
    assert.deepEqual(
      decoded.map((d) => d.timestamp),
      stamps.map((s) => s.timestamp ?? now),
    );
    assert.deepEqual(decoded.map((d) => d.value?.toString()), records.map((r) => r.value.toString()));
    const expectedMax = Math.max(...stamps.map((s) => s.timestamp ?? now));
    assert.equal(readBatchHeader(batch).maxTimestamp, expectedMax);
  }
  assert.throws(() => encodeRecordBatch([{ key: null, value: null }], { baseOffset: 0 }), RangeError);
});
