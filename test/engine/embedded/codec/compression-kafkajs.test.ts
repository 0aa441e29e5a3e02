/**
 * Compressed batches cross-checked with kafkajs, an independent implementation of the v2 batch:
 * gzip with kafkajs's own codec (zlib), both ways and byte for byte; snappy, lz4 and zstd through
 * kafkajs's codec plug-in point (CompressionCodecs) with our codecs plugged in, which checks that
 * both sides put the same compressed records section in the same place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compressionCodec } from '../../../../src/engine/embedded/codec/compression';
import { decodeRecords, encodeRecordBatch, isBatchCrcValid, readBatchHeader, RecordInput } from '../../../../src/engine/embedded/codec/record-batch';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const { CompressionCodecs, CompressionTypes } = require('kafkajs');
import { kafkajsDecode, kafkaRecord, kafkaRecordBatch, Long, type KafkajsRecord } from './kafkajs-batch';

const T0 = 1_700_000_000_000;

// kafkajs ships only gzip; the plug-in point takes a factory of { compress(encoder), decompress(buffer) }.
for (const [type, id] of [
  [CompressionTypes.Snappy, 2],
  [CompressionTypes.LZ4, 3],
  [CompressionTypes.ZSTD, 4],
] as const) {
  const codec = compressionCodec(id);
  CompressionCodecs[type] = () => ({
    compress: async (encoder: { buffer: Buffer }) => codec.compress(encoder.buffer),
    decompress: async (buffer: Buffer) => codec.decompress(buffer),
  });
}

const CODECS = [
  { id: 1, name: 'gzip', kafkajs: CompressionTypes.GZIP },
  { id: 2, name: 'snappy', kafkajs: CompressionTypes.Snappy },
  { id: 3, name: 'lz4', kafkajs: CompressionTypes.LZ4 },
  { id: 4, name: 'zstd', kafkajs: CompressionTypes.ZSTD },
] as const;

function sample(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 4 === 0 ? null : Buffer.from(`key-${i % 10}`),
    value: i % 9 === 0 ? null : Buffer.from(JSON.stringify({ i, text: 'payload '.repeat(1 + (i % 5)) })),
    timestamp: T0 + ((i * 7919) % 3000) - 1500,
    headers: i % 3 === 0 ? [{ key: `h${i % 2}`, value: Buffer.from(`v${i}`) }] : undefined,
  }));
}

async function kafkajsEncode(records: RecordInput[], baseOffset: number, compression: number): Promise<Buffer> {
  const base = records[0].timestamp;
  const batch = await kafkaRecordBatch({
    compression,
    firstOffset: Long.fromNumber(baseOffset),
    firstTimestamp: base,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromNumber(-1),
    producerEpoch: -1,
    firstSequence: -1,
    records: records.map((r, i) =>
      kafkaRecord({
        offsetDelta: i,
        timestampDelta: r.timestamp - base,
        key: r.key,
        value: r.value,
        headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])),
      }),
    ),
  });
  return batch.buffer;
}

test('compressed batches we encode decode with kafkajs to the same records', async () => {
  for (const { id, name } of CODECS) {
    const input = sample(300);
    const decoded = await kafkajsDecode(encodeRecordBatch(input, { baseOffset: 900, compression: id }));
    assert.equal(decoded.records.length, input.length, name);
    decoded.records.forEach((r: KafkajsRecord, i: number) => {
      assert.equal(r.offset, String(900 + i));
      assert.equal(r.timestamp, String(input[i].timestamp));
      assert.deepEqual(r.key, input[i].key);
      assert.deepEqual(r.value, input[i].value);
      assert.deepEqual(r.headers, Object.fromEntries((input[i].headers ?? []).map((h) => [h.key, h.value])));
    });
  }
});

test('compressed batches kafkajs encodes decode with ours, CRC valid', async () => {
  for (const { id, name, kafkajs } of CODECS) {
    const input = sample(250);
    const buf = await kafkajsEncode(input, 33, kafkajs);
    assert.ok(isBatchCrcValid(buf), name);
    assert.equal(readBatchHeader(buf).compression, id, name);
    // The same records as ours uncompressed (whose equality with the input the codec tests show).
    assert.deepEqual(decodeRecords(buf), decodeRecords(encodeRecordBatch(input, { baseOffset: 33 })), name);
  }
});

test('with the same codec output, ours and kafkajs produce identical compressed batches', async () => {
  // gzip with kafkajs's own zlib codec: equal settings give equal bytes, so the layouts are equal.
  for (const { id, name, kafkajs } of CODECS) {
    const input = sample(120);
    const theirs = await kafkajsEncode(input, 0, kafkajs);
    const ours = encodeRecordBatch(input, { baseOffset: 0, compression: id });
    assert.ok(ours.equals(theirs), `${name}: ${ours.length} vs ${theirs.length} bytes, first difference at ${ours.findIndex((b, i) => b !== theirs[i])}`);
  }
});
