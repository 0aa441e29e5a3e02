import { compressionCodec } from './compression';
import { crc32c } from './crc32c';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BatchEncodeOptions,
  COMPRESSION_CODEC_MASK,
  COMPRESSION_NONE,
  CONTROL_MASK,
  CRC_OFFSET,
  CRC_START,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RecordHeaderBytes,
  EncoderRecordInput,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
} from './record-batch-format';
import { sizeOfVarint, sizeOfVarlong, writeInt64, writeVarint, writeVarlong } from './varint';

/**
 * Record body, key and value sizes from the sizing pass, reused by the writing pass. Module-level
 * arrays that only grow, so encoding allocates nothing per record; safe because encoding is
 * synchronous.
 */
let bodySizes = new Int32Array(1024);
let keySizes = new Int32Array(1024);
let valueSizes = new Int32Array(1024);

function headersSize(headers: RecordHeaderBytes[] | undefined): number {
  if (headers === undefined) return 1;
  let size = sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const keyBytes = Buffer.byteLength(h.key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes;
    size += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  }
  return size;
}

function checkTimestamp(timestamp: number | undefined, index: number): asserts timestamp is number {
  if (!Number.isSafeInteger(timestamp)) {
    throw new RangeError(`record ${index} has timestamp ${timestamp}, expected an integer number of ms`);
  }
}

/**
 * Encodes `records` as one v2 batch with offsets baseOffset .. baseOffset + n - 1, compressed with
 * `options.compression` (default none). The exact size is computed first so the uncompressed batch
 * is written into a single allocation. baseTimestamp is the first record's timestamp (as Kafka's
 * builder does); deltas may be negative.
 */
export function encodeRecordBatch(records: readonly EncoderRecordInput[], options: BatchEncodeOptions): Buffer {
  const compression = options.compression ?? COMPRESSION_NONE;
  if (compression === COMPRESSION_NONE) return encodePlainBatch(records, options, true);
  return compressBatch(encodePlainBatch(records, options, false), compression);
}

/**
 * The batch with its records section replaced by the codec's compressed form: the header is kept,
 * batchLength, the codec bits and the CRC (computed over the compressed bytes) are rewritten.
 */
function compressBatch(plain: Buffer, compression: number): Buffer {
  const payload = compressionCodec(compression).compress(plain.subarray(BATCH_HEADER_SIZE));
  const total = BATCH_HEADER_SIZE + payload.length;
  const buf = Buffer.allocUnsafe(total);
  plain.copy(buf, 0, 0, BATCH_HEADER_SIZE);
  buf.set(payload, BATCH_HEADER_SIZE);
  buf.writeInt32BE(total - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt16BE((buf.readInt16BE(ATTRIBUTES_OFFSET) & ~COMPRESSION_CODEC_MASK) | compression, ATTRIBUTES_OFFSET);
  buf.writeUInt32BE(crc32c(buf, CRC_START, total), CRC_OFFSET);
  return buf;
}

/** An uncompressed batch; without `withCrc` the CRC field is left unset for the caller to fill. */
function encodePlainBatch(records: readonly EncoderRecordInput[], options: BatchEncodeOptions, withCrc: boolean): Buffer {
  const count = records.length;
  if (count < 1) throw new RangeError('a record batch needs at least one record');
  if (bodySizes.length < count) {
    const n = Math.max(count, bodySizes.length * 2);
    bodySizes = new Int32Array(n);
    keySizes = new Int32Array(n);
    valueSizes = new Int32Array(n);
  }
  const sizes = bodySizes;

  const defaultTimestamp = options.defaultTimestamp;
  const baseTimestamp = records[0].timestamp ?? defaultTimestamp;
  if (baseTimestamp === undefined) throw new RangeError('record 0 has no timestamp and the batch no defaultTimestamp');
  let maxTimestamp = baseTimestamp;
  let total = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    const ts = r.timestamp ?? defaultTimestamp;
    checkTimestamp(ts, i);
    if (ts > maxTimestamp) maxTimestamp = ts;
    const keyLength = byteLength(r.key);
    const valueLength = byteLength(r.value);
    keySizes[i] = keyLength;
    valueSizes[i] = valueLength;
    const body =
      1 +
      sizeOfVarlong(ts - baseTimestamp) +
      sizeOfVarint(i) +
      (keyLength < 0 ? 1 : sizeOfVarint(keyLength) + keyLength) +
      (valueLength < 0 ? 1 : sizeOfVarint(valueLength) + valueLength) +
      headersSize(r.headers);
    sizes[i] = body;
    total += sizeOfVarint(body) + body;
  }

  let attributes = 0;
  if (options.timestampType === 'LogAppendTime') {
    attributes |= TIMESTAMP_TYPE_MASK;
    maxTimestamp = options.logAppendTime ?? Date.now();
  }
  if (options.isTransactional) attributes |= TRANSACTIONAL_MASK;
  if (options.isControl) attributes |= CONTROL_MASK;

  const buf = Buffer.allocUnsafe(total);
  writeInt64(buf, 0, options.baseOffset);
  buf.writeInt32BE(total - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? 0, PARTITION_LEADER_EPOCH_OFFSET);
  buf[MAGIC_OFFSET] = MAGIC_V2;
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(count - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, options.producerId ?? -1);
  buf.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(count, RECORD_COUNT_OFFSET);

  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    pos = writeVarint(buf, pos, sizes[i]);
    buf[pos++] = 0; // record attributes: unused in v2
    pos = writeVarlong(buf, pos, (r.timestamp ?? (defaultTimestamp as number)) - baseTimestamp);
    pos = writeVarint(buf, pos, i);
    pos = writeData(buf, pos, r.key, keySizes[i] as number);
    pos = writeData(buf, pos, r.value, valueSizes[i] as number);
    const headers = r.headers;
    if (headers === undefined) {
      buf[pos++] = 0;
    } else {
      pos = writeVarint(buf, pos, headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h];
        pos = writeVarint(buf, pos, Buffer.byteLength(header.key, 'utf8'));
        pos += buf.write(header.key, pos, 'utf8');
        pos = writeBytes(buf, pos, header.value);
      }
    }
  }
  if (withCrc) buf.writeUInt32BE(crc32c(buf, CRC_START, total), CRC_OFFSET);
  return buf;
}

/** Byte length of a key or value: a string counts as its UTF-8 bytes; null is -1. */
function byteLength(data: Buffer | string | null): number {
  if (data === null) return -1;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

/**
 * Writes a length-prefixed key or value whose byte length the sizing pass measured; a string is
 * written as UTF-8 straight into the batch, with no intermediate Buffer.
 */
function writeData(buf: Buffer, pos: number, data: Buffer | string | null, length: number): number {
  if (data === null) {
    buf[pos] = 1; // zig-zag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, length);
  if (typeof data === 'string') buf.write(data, pos, length, 'utf8');
  else buf.set(data, pos);
  return pos + length;
}

/** Writes a length-prefixed byte string; null is length -1 and no bytes. */
function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zig-zag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}
