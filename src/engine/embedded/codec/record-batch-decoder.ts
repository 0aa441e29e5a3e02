import { isEngineError } from '../../engine-error';
import { compressionCodec } from './compression';
import {
  BATCH_HEADER_SIZE,
  compressionName,
  COMPRESSION_NONE,
  CorruptBatchError,
  DecodedRecord,
  MIN_RECORD_SIZE,
  RecordHeaderBytes,
} from './record-batch-format';
import { isBatchCrcValid, readBatchHeader } from './record-batch-header';
import { Cursor, readVarint, readVarlong, VarintError } from './varint';

/**
 * Decodes the records of the batch at `pos`, decompressing a compressed batch. Keys, values and
 * header values are views into `buf` (no copy), or into the decompressed records of a compressed
 * batch: they stay valid only while the caller keeps `buf` unchanged. The CRC of an uncompressed
 * batch is not checked here (see isBatchCrcValid); a compressed batch's is, before its bytes reach a
 * decompressor, so damage is reported as corruption rather than decoded into other records.
 * Structure is checked either way: a malformed batch throws CorruptBatchError rather than returning
 * garbage. A codec whose library cannot be loaded throws EngineError UNSUPPORTED_COMPRESSION_TYPE.
 */
export function decodeRecords(buf: Buffer, pos = 0): DecodedRecord[] {
  const header = readBatchHeader(buf, pos);
  const end = pos + header.sizeInBytes;
  if (end > buf.length) {
    throw new CorruptBatchError(
      `record batch at position ${pos} needs ${header.sizeInBytes} bytes, buffer has ${buf.length - pos}`,
    );
  }
  // Bound every read by the batch end, not the end of `buf`, which may hold further batches.
  let records = end === buf.length ? buf : buf.subarray(0, end);
  let start = pos + BATCH_HEADER_SIZE;
  if (header.compression !== COMPRESSION_NONE) {
    records = decompressRecords(buf, pos, end, header.compression);
    start = 0;
  }
  const count = header.recordCount;
  if (count < 0 || count * MIN_RECORD_SIZE > records.length - start) {
    throw new CorruptBatchError(`record batch at position ${pos} claims ${count} records in ${records.length - start} bytes of records`);
  }
  const logAppendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : -1;
  try {
    return readRecords(records, start, count, header.baseOffset, header.baseTimestamp, logAppendTime);
  } catch (err) {
    if (err instanceof VarintError) {
      throw new CorruptBatchError(`record batch at position ${pos}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * The records section of the compressed batch at `pos`, decompressed, its CRC checked first (see
 * decodeRecords). Shared with the record cursor of the read path.
 */
export function decompressRecords(buf: Buffer, pos: number, end: number, compression: number): Buffer {
  const name = compressionName(compression);
  if (name === undefined) {
    throw new CorruptBatchError(`record batch at position ${pos} has unknown compression codec id ${compression}`);
  }
  if (!isBatchCrcValid(buf, pos)) throw new CorruptBatchError(`${name} record batch at position ${pos} fails its CRC check`);
  const codec = compressionCodec(compression);
  try {
    return codec.decompress(buf.subarray(pos + BATCH_HEADER_SIZE, end));
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw new CorruptBatchError(`${name} record batch at position ${pos} cannot be decompressed: ${(err as Error).message}`, { cause: err });
  }
}

function readRecords(
  batch: Buffer,
  start: number,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: number,
): DecodedRecord[] {
  const records: DecodedRecord[] = new Array(count);
  const cursor: Cursor = { pos: start };
  for (let i = 0; i < count; i++) {
    const length = readVarint(batch, cursor);
    const recordEnd = cursor.pos + length;
    if (length < MIN_RECORD_SIZE - 1 || recordEnd > batch.length) {
      throw new CorruptBatchError(`record ${i} at position ${cursor.pos} has invalid length ${length}`);
    }
    cursor.pos++; // record attributes: unused in v2
    const timestampDelta = readVarlong(batch, cursor);
    const offsetDelta = readVarint(batch, cursor);
    const key = readBytes(batch, cursor, recordEnd);
    const value = readBytes(batch, cursor, recordEnd);
    const headerCount = readVarint(batch, cursor);
    let headers: RecordHeaderBytes[] = NO_HEADERS;
    if (headerCount !== 0) {
      if (headerCount < 0 || headerCount * 2 > recordEnd - cursor.pos) {
        throw new CorruptBatchError(`record ${i} has invalid header count ${headerCount}`);
      }
      headers = new Array(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const keyLength = readVarint(batch, cursor);
        const keyStart = cursor.pos;
        if (keyLength < 0 || keyStart + keyLength > recordEnd) {
          throw new CorruptBatchError(`record ${i} header ${h} has invalid key length ${keyLength}`);
        }
        cursor.pos = keyStart + keyLength;
        headers[h] = { key: batch.toString('utf8', keyStart, keyStart + keyLength), value: readBytes(batch, cursor, recordEnd) };
      }
    }
    if (cursor.pos !== recordEnd) {
      throw new CorruptBatchError(`record ${i} ends at ${cursor.pos}, its length says ${recordEnd}`);
    }
    records[i] = {
      offset: baseOffset + offsetDelta,
      timestamp: logAppendTime === -1 ? baseTimestamp + timestampDelta : logAppendTime,
      key,
      value,
      headers,
    };
  }
  if (cursor.pos !== batch.length) {
    throw new CorruptBatchError(`record batch has ${batch.length - cursor.pos} bytes after its ${count} records`);
  }
  return records;
}

/**
 * Shared by every record without headers. Frozen so that a caller mutating one record's headers
 * cannot leak into the others.
 */
const NO_HEADERS: RecordHeaderBytes[] = Object.freeze([]) as unknown as RecordHeaderBytes[];

function readBytes(batch: Buffer, cursor: Cursor, recordEnd: number): Buffer | null {
  const length = readVarint(batch, cursor);
  if (length === -1) return null;
  const start = cursor.pos;
  if (length < -1 || start + length > recordEnd) {
    throw new CorruptBatchError(`invalid byte string length ${length} at position ${start}`);
  }
  cursor.pos = start + length;
  return batch.subarray(start, start + length);
}
