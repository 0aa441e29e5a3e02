import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EngineError } from '../../../../src/engine/engine-error';
import {
  assertCompressionTypeAvailable,
  BATCH_HEADER_SIZE,
  compressionIdOf,
  CorruptBatchError,
  CRC_OFFSET,
  CRC_START,
  decodeRecords,
  encodeRecordBatch,
  isBatchCrcValid,
  LOG_OVERHEAD,
  readBatchHeader,
  RecordInput,
  setLogAppendTime,
} from '../../../../src/engine/embedded/codec/record-batch';
import { crc32c } from '../../../../src/engine/embedded/codec/crc32c';

const T0 = 1_700_000_000_000;
const CODECS = [
  { id: 0, name: 'none' },
  { id: 1, name: 'gzip' },
  { id: 2, name: 'snappy' },
  { id: 3, name: 'lz4' },
  { id: 4, name: 'zstd' },
] as const;
const COMPRESSED = CODECS.filter((c) => c.id !== 0);

/** Records like an HTTP producer's: JSON values, some keys, nulls, headers, timestamps not in order. */
function jsonRecords(count: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const value = JSON.stringify({ id: i, user: `user-${(i * 7919) % 1000}`, action: ['click', 'view', 'buy'][i % 3], price: (i * 37) % 1000 });
    out.push({
      key: i % 7 === 0 ? null : Buffer.from(`user-${i % 100}`),
      value: i % 11 === 0 ? null : Buffer.from(value),
      timestamp: T0 + ((i * 7919) % 5000) - 2500,
      headers:
        i % 5 === 0
          ? [
              { key: 'trace-id', value: Buffer.from(`t-${i}`) },
              { key: 'gone', value: null },
              { key: 'ключ-🔑', value: Buffer.alloc(0) },
            ]
          : undefined,
    });
  }
  return out;
}

function assertSameRecords(decoded: ReturnType<typeof decodeRecords>, input: RecordInput[], baseOffset: number): void {
  assert.equal(decoded.length, input.length);
  for (let i = 0; i < input.length; i++) {
    const d = decoded[i];
    const r = input[i];
    if (d.offset !== baseOffset + i || d.timestamp !== r.timestamp) assert.fail(`record ${i}: offset ${d.offset}, timestamp ${d.timestamp}`);
    assert.deepEqual(d.key, r.key, `key of record ${i}`);
    assert.deepEqual(d.value, r.value, `value of record ${i}`);
    assert.deepEqual(d.headers, r.headers ?? [], `headers of record ${i}`);
  }
}

/** Rewrites the batch's CRC after a test changed bytes inside it. */
function fixCrc(buf: Buffer): void {
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), CRC_OFFSET);
}

test('every codec round-trips 1 and 10,000 records with null keys and values and headers', () => {
  for (const { id, name } of CODECS) {
    for (const count of [1, 10_000]) {
      const input = jsonRecords(count);
      const buf = encodeRecordBatch(input, { baseOffset: 1_000, producerId: 7, producerEpoch: 2, baseSequence: 40, compression: id });
      const h = readBatchHeader(buf);
      assert.equal(h.compression, id, `${name}: codec bits`);
      assert.equal(h.recordCount, count, `${name}: recordCount stays in the clear`);
      assert.equal(h.lastOffset, 1_000 + count - 1);
      assert.equal(h.maxTimestamp, Math.max(...input.map((r) => r.timestamp)));
      assert.equal(h.producerId, 7);
      assert.equal(h.sizeInBytes, buf.length);
      assert.ok(isBatchCrcValid(buf), `${name}: CRC over the stored bytes`);
      assertSameRecords(decodeRecords(buf), input, 1_000);
    }
  }
});

test('the codec is chosen by options.compression; compressible records take fewer bytes', () => {
  const input = jsonRecords(1_000);
  const plain = encodeRecordBatch(input, { baseOffset: 0 });
  for (const { id, name } of COMPRESSED) {
    const buf = encodeRecordBatch(input, { baseOffset: 0, compression: id });
    assert.equal(readBatchHeader(buf).compression, id);
    assert.ok(buf.length < plain.length / 2, `${name}: ${buf.length} bytes vs ${plain.length} uncompressed`);
    // Everything but the codec bits, batchLength and the CRC is the uncompressed header.
    assert.ok(buf.subarray(23, BATCH_HEADER_SIZE).equals(plain.subarray(23, BATCH_HEADER_SIZE)), `${name}: header fields`);
    assertSameRecords(decodeRecords(buf), input, 0);
  }
});

test('a compressed batch keeps transactional, control and LogAppendTime attributes', () => {
  const input = jsonRecords(20);
  for (const { id, name } of COMPRESSED) {
    const buf = encodeRecordBatch(input, { baseOffset: 5, compression: id, isTransactional: true, timestampType: 'LogAppendTime', logAppendTime: T0 + 9 });
    const h = readBatchHeader(buf);
    assert.equal(h.isTransactional, true, name);
    assert.equal(h.timestampType, 'LogAppendTime', name);
    assert.ok(decodeRecords(buf).every((r) => r.timestamp === T0 + 9), `${name}: append time read for every record`);
  }
});

test('setLogAppendTime on a compressed batch keeps its CRC valid and its records readable', () => {
  const input = jsonRecords(50);
  for (const { id } of COMPRESSED) {
    const buf = encodeRecordBatch(input, { baseOffset: 0, compression: id });
    setLogAppendTime(buf, 0, T0 + 123);
    assert.ok(isBatchCrcValid(buf));
    assert.equal(readBatchHeader(buf).compression, id);
    assert.ok(decodeRecords(buf).every((r) => r.timestamp === T0 + 123));
  }
});

test('decoding a compressed batch in a buffer of several batches reads only its own bytes', () => {
  const a = jsonRecords(30);
  const b = jsonRecords(7);
  for (const { id } of COMPRESSED) {
    const first = encodeRecordBatch(a, { baseOffset: 0, compression: id });
    const second = encodeRecordBatch(b, { baseOffset: 30, compression: id });
    const both = Buffer.concat([first, second]);
    assertSameRecords(decodeRecords(both, 0), a, 0);
    assertSameRecords(decodeRecords(both, first.length), b, 30);
  }
});

test('a flipped bit in a compressed payload fails the CRC: CorruptBatchError, never records', () => {
  const input = jsonRecords(200);
  for (const { id, name } of COMPRESSED) {
    const buf = encodeRecordBatch(input, { baseOffset: 0, compression: id });
    for (const at of [BATCH_HEADER_SIZE, BATCH_HEADER_SIZE + 10, buf.length >> 1, buf.length - 1]) {
      const bad = Buffer.from(buf);
      bad[at] ^= 0x10;
      assert.equal(isBatchCrcValid(bad), false);
      assert.throws(() => decodeRecords(bad), (err: unknown) => err instanceof CorruptBatchError && /CRC/.test(err.message), `${name} at ${at}`);
    }
  }
});

test('a payload the codec cannot decompress, CRC valid, is CorruptBatchError naming the codec', () => {
  const input = jsonRecords(200);
  for (const { id, name } of COMPRESSED) {
    const buf = encodeRecordBatch(input, { baseOffset: 0, compression: id });
    // Cut the compressed stream short, as a producer's broken encoder could; the CRC is made to match.
    const cut = Buffer.from(buf.subarray(0, buf.length - 40));
    cut.writeInt32BE(cut.length - LOG_OVERHEAD, 8);
    fixCrc(cut);
    assert.throws(() => decodeRecords(cut), (err: unknown) => err instanceof CorruptBatchError && err.message.includes(name), `${name}: truncated`);
    // Bytes that are no stream of the codec at all.
    const garbage = Buffer.concat([buf.subarray(0, BATCH_HEADER_SIZE), Buffer.from('this is not a compressed stream of any kind, just text')]);
    garbage.writeInt32BE(garbage.length - LOG_OVERHEAD, 8);
    fixCrc(garbage);
    assert.throws(() => decodeRecords(garbage), CorruptBatchError, `${name}: garbage`);
  }
});

test('decompressed records that disagree with recordCount are CorruptBatchError', () => {
  for (const { id, name } of COMPRESSED) {
    const buf = encodeRecordBatch(jsonRecords(10), { baseOffset: 0, compression: id });
    for (const count of [9, 11, 1_000_000]) {
      const bad = Buffer.from(buf);
      bad.writeInt32BE(count, 57);
      fixCrc(bad);
      assert.throws(() => decodeRecords(bad), CorruptBatchError, `${name}: recordCount ${count}`);
    }
  }
});

test('codec ids Kafka does not define (5-7) are corrupt on read and refused on write', () => {
  const buf = encodeRecordBatch(jsonRecords(3), { baseOffset: 0 });
  for (const id of [5, 6, 7]) {
    const bad = Buffer.from(buf);
    bad.writeInt16BE(id, 21);
    fixCrc(bad);
    assert.throws(() => decodeRecords(bad), (err: unknown) => err instanceof CorruptBatchError && /unknown compression codec id/.test(err.message));
    assert.throws(() => encodeRecordBatch(jsonRecords(1), { baseOffset: 0, compression: id }), RangeError);
  }
});

test('incompressible values still round-trip (the stored batch may be larger than uncompressed)', () => {
  const input: RecordInput[] = Array.from({ length: 40 }, (_, i) => ({ key: randomBytes(16), value: randomBytes(3_000 + i), timestamp: T0 + i }));
  for (const { id } of CODECS) {
    assertSameRecords(decodeRecords(encodeRecordBatch(input, { baseOffset: 0, compression: id })), input, 0);
  }
});

test('compression.type names map to Kafka codec ids; producer keeps the uncompressed records', () => {
  assert.equal(compressionIdOf('producer'), 0);
  assert.equal(compressionIdOf('none'), 0);
  assert.equal(compressionIdOf('gzip'), 1);
  assert.equal(compressionIdOf('snappy'), 2);
  assert.equal(compressionIdOf('lz4'), 3);
  assert.equal(compressionIdOf('zstd'), 4);
  assert.throws(() => compressionIdOf('brotli'), (err: unknown) => err instanceof EngineError && err.code === 'INVALID_CONFIG');
  for (const name of ['producer', 'none', 'gzip', 'snappy', 'lz4', 'zstd']) assertCompressionTypeAvailable(name);
  assertCompressionTypeAvailable(undefined);
  assertCompressionTypeAvailable(null);
});
