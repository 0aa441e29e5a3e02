import { EngineError } from '../../engine-error';
import {
  BATCH_HEADER_SIZE,
  compressionName,
  COMPRESSION_NONE,
  CorruptBatchError,
  DecodedRecord,
  MIN_RECORD_SIZE,
  RecordHeaderBytes,
} from './record-batch-format';
import { readBatchHeader } from './record-batch-header';
import { Cursor, readVarint, readVarlong, VarintError } from './varint';

/**
 * Decodes the records of the batch at `pos`. Keys, values and header values are views into `buf`
 * (no copy): they stay valid only while the caller keeps `buf` unchanged. The CRC is not checked
 * here (see isBatchCrcValid); structure is, so a malformed batch throws CorruptBatchError rather
 * than returning garbage. A compressed batch throws EngineError UNSUPPORTED_COMPRESSION_TYPE.
 */
export function decodeRecords(buf: Buffer, pos = 0): DecodedRecord[] {
  const header = readBatchHeader(buf, pos);
  const end = pos + header.sizeInBytes;
  if (end > buf.length) {
    throw new CorruptBatchError(
      `record batch at position ${pos} needs ${header.sizeInBytes} bytes, buffer has ${buf.length - pos}`,
    );
  }
  if (header.compression !== COMPRESSION_NONE) {
    const name = compressionName(header.compression);
    if (name === undefined) {
      throw new CorruptBatchError(`record batch at position ${pos} has unknown compression codec id ${header.compression}`);
    }
    throw new EngineError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `record batch at position ${pos} is compressed with ${name}; only uncompressed batches can be decoded`,
    );
  }
  const count = header.recordCount;
  if (count < 0 || count * MIN_RECORD_SIZE > end - pos - BATCH_HEADER_SIZE) {
    throw new CorruptBatchError(`record batch at position ${pos} claims ${count} records in ${header.sizeInBytes} bytes`);
  }
  // Bound every read by the batch end, not the end of `buf`, which may hold further batches.
  const batch = end === buf.length ? buf : buf.subarray(0, end);
  const logAppendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : -1;
  try {
    return readRecords(batch, pos + BATCH_HEADER_SIZE, count, header.baseOffset, header.baseTimestamp, logAppendTime);
  } catch (err) {
    if (err instanceof VarintError) {
      throw new CorruptBatchError(`record batch at position ${pos}: ${err.message}`, { cause: err });
    }
    throw err;
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
