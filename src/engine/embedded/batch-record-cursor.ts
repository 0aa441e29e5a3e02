import { isEngineError } from '../engine-error';
import type { RecordHeader } from '../storage-engine';
import { NO_BYTES, RecordCursorFields } from '../record-cursor-fields';
import type { ScannedBatch } from './batch-scanner';
import { BATCH_HEADER_SIZE, COMPRESSION_NONE, CorruptBatchError, decompressRecords, MIN_RECORD_SIZE } from './codec/record-batch';
import { readVarint, readVarlong, VarintError } from './codec/varint';
import { JsonValueMemo, jsonValueMemo, MEMO_MIN_RECORDS } from './json-value-memo';
import { corruptBatch } from './log-batch-read';

/** Not a short varint's value (those are -8192..8191): read it the long way. */
const MULTI_BYTE = 0x7fff_ffff;
const UNKNOWN = 0;
const YES = 1;
const NO = 2;

/**
 * Walks the records of v2 batches read from a log, in place: the varints of each record are read
 * straight from the scanned bytes and the key and value are left where they are, as offsets into
 * those bytes (see RecordCursor). It checks each record's structure as decodeRecords does, so a
 * malformed batch is CORRUPT_MESSAGE here too, never garbage; a compressed batch is decompressed
 * (CRC checked first) when the walk reaches it and then walked the same way. An uncompressed
 * batch's CRC is not checked on reads, as in decodeRecords.
 *
 * Yields the records with from <= offset < upTo, the bounds the object path applies.
 */
export class BatchRecordCursor extends RecordCursorFields {
  /** The varint readers' position in `bytes`. */
  pos = 0;
  private bytes: Buffer = NO_BYTES;
  /** End of the current batch's records in `bytes`. */
  private end = 0;
  private remaining = 0;
  private nextBatch = 0;
  private headersPos = 0;
  private baseOffset = 0;
  private baseTimestamp = 0;
  /** The batch's LogAppendTime, every record's timestamp; -1 for CreateTime. */
  private logAppendTime = -1;
  private batchPos = 0;
  private batch: ScannedBatch | undefined;
  /** Whether jsonValueMemo holds the current batch: UNKNOWN until asked. */
  private memo = UNKNOWN;
  /** Records of the current batch a reader found to be JSON (valueWasJson). */
  private jsonRecords = 0;

  constructor(
    private readonly batches: readonly ScannedBatch[],
    private readonly from: number,
    private readonly upTo: number,
    /** Names the partition and segment in corruption messages. */
    private readonly where: string,
  ) {
    super();
  }

  get empty(): boolean {
    return this.batches.length === 0;
  }

  get storedBytes(): number {
    let bytes = 0;
    for (const batch of this.batches) bytes += batch.header.sizeInBytes;
    return bytes;
  }

  /**
   * Every value of the current record's batch was found to be JSON text by an earlier read of the
   * same stored batch (see JsonValueMemo): a json reader may copy them without checking.
   */
  get valuesAreJson(): boolean {
    if (this.memo === UNKNOWN) this.memo = this.remembered() ? YES : NO;
    return this.memo === YES;
  }

  /** A reader found the current record's value to be JSON text (or null): once every record of a batch was, the batch is remembered. */
  valueWasJson(): void {
    const batch = this.batch as ScannedBatch;
    if (++this.jsonRecords === batch.header.recordCount && this.memo !== YES && batch.header.recordCount >= MEMO_MIN_RECORDS) {
      jsonValueMemo.add(JsonValueMemo.keyOf(this.where, batch));
      this.memo = YES;
    }
  }

  private remembered(): boolean {
    const batch = this.batch;
    return batch !== undefined && batch.header.recordCount >= MEMO_MIN_RECORDS && jsonValueMemo.has(JsonValueMemo.keyOf(this.where, batch));
  }

  next(): boolean {
    try {
      for (;;) {
        while (this.remaining === 0) {
          if (this.nextBatch >= this.batches.length) return false;
          this.openBatch(this.batches[this.nextBatch++] as ScannedBatch);
        }
        this.readRecord();
        if (this.offset < this.from) continue;
        if (this.offset >= this.upTo) {
          this.remaining = 0;
          this.nextBatch = this.batches.length;
          return false;
        }
        return true;
      }
    } catch (err) {
      if (isEngineError(err)) throw err;
      if (!(err instanceof CorruptBatchError) && !(err instanceof VarintError)) throw err;
      throw corruptBatch(this.where, this.baseOffset, err);
    }
  }

  headers(): RecordHeader[] {
    const list: RecordHeader[] = [];
    const b = this.bytes;
    const saved = this.pos;
    this.pos = this.headersPos;
    for (let h = 0; h < this.headerCount; h++) {
      const keyLength = this.varint();
      const keyStart = this.pos;
      this.pos += keyLength;
      const valueLength = this.varint();
      const valueStart = this.pos;
      this.pos += Math.max(0, valueLength);
      list.push({ key: b.toString('utf8', keyStart, keyStart + keyLength), value: valueLength === -1 ? null : b.subarray(valueStart, valueStart + valueLength) });
    }
    this.pos = saved;
    return list;
  }

  private openBatch(batch: ScannedBatch): void {
    const header = batch.header;
    this.baseOffset = header.baseOffset;
    this.baseTimestamp = header.baseTimestamp;
    this.timestampType = header.timestampType;
    this.logAppendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : -1;
    this.batchPos = batch.filePosition;
    this.batch = batch;
    this.memo = UNKNOWN;
    this.jsonRecords = 0;
    const end = batch.pos + header.sizeInBytes;
    if (end > batch.buf.length) throw new CorruptBatchError(`record batch needs ${header.sizeInBytes} bytes, the read has ${batch.buf.length - batch.pos}`);
    if (header.compression === COMPRESSION_NONE) {
      this.bytes = batch.buf;
      this.pos = batch.pos + BATCH_HEADER_SIZE;
      this.end = end;
    } else {
      this.bytes = decompressRecords(batch.buf, batch.pos, end, header.compression);
      this.pos = 0;
      this.end = this.bytes.length;
    }
    this.keyBytes = this.valueBytes = this.bytes;
    const count = header.recordCount;
    if (count < 0 || count * MIN_RECORD_SIZE > this.end - this.pos) {
      throw new CorruptBatchError(`record batch at file position ${this.batchPos} claims ${count} records in ${this.end - this.pos} bytes of records`);
    }
    this.remaining = count;
    if (count === 0) this.assertBatchEnd();
  }

  /** One record's fields; the same structure checks as the decoder's. */
  private readRecord(): void {
    const length = this.varint();
    const recordEnd = this.pos + length;
    if (length < MIN_RECORD_SIZE - 1 || recordEnd > this.end) throw new CorruptBatchError(`a record at ${this.pos} has invalid length ${length}`);
    this.pos++; // attributes: unused in v2
    const timestampDelta = this.varlong();
    this.offset = this.baseOffset + this.varint();
    this.timestamp = this.logAppendTime === -1 ? this.baseTimestamp + timestampDelta : this.logAppendTime;
    let n = this.varint();
    this.keyStart = this.pos;
    if (n === -1) this.keyEnd = -1;
    else {
      if (n < -1 || this.pos + n > recordEnd) throw new CorruptBatchError(`invalid key length ${n} at position ${this.pos}`);
      this.pos = this.keyEnd = this.pos + n;
    }
    n = this.varint();
    this.valueStart = this.pos;
    if (n === -1) this.valueEnd = -1;
    else {
      if (n < -1 || this.pos + n > recordEnd) throw new CorruptBatchError(`invalid value length ${n} at position ${this.pos}`);
      this.pos = this.valueEnd = this.pos + n;
    }
    const headerCount = this.varint();
    this.headerCount = headerCount;
    if (headerCount !== 0) this.skipHeaders(headerCount, recordEnd);
    if (this.pos !== recordEnd) throw new CorruptBatchError(`a record ends at ${this.pos}, its length says ${recordEnd}`);
    if (--this.remaining === 0) this.assertBatchEnd();
  }

  private skipHeaders(count: number, recordEnd: number): void {
    if (count < 0 || count * 2 > recordEnd - this.pos) throw new CorruptBatchError(`invalid header count ${count}`);
    this.headersPos = this.pos;
    for (let h = 0; h < count; h++) {
      const keyLength = this.varint();
      if (keyLength < 0 || this.pos + keyLength > recordEnd) throw new CorruptBatchError(`header ${h} has invalid key length ${keyLength}`);
      this.pos += keyLength;
      const valueLength = this.varint();
      if (valueLength < -1 || this.pos + valueLength > recordEnd) throw new CorruptBatchError(`header ${h} has invalid value length ${valueLength}`);
      if (valueLength > 0) this.pos += valueLength;
    }
  }

  private assertBatchEnd(): void {
    if (this.pos !== this.end) throw new CorruptBatchError(`record batch at file position ${this.batchPos} has ${this.end - this.pos} bytes after its records`);
  }

  /** A zig-zag varint; values of one or two bytes (lengths, deltas) without a call. */
  private varint(): number {
    const v = this.shortVarint();
    return v === MULTI_BYTE ? readVarint(this.bytes, this) : v;
  }

  private varlong(): number {
    const v = this.shortVarint();
    return v === MULTI_BYTE ? readVarlong(this.bytes, this) : v;
  }

  /** A varint of one or two bytes (-8192..8191), else MULTI_BYTE with `pos` unmoved. */
  private shortVarint(): number {
    const bytes = this.bytes;
    const pos = this.pos;
    const b = bytes[pos];
    if (b === undefined) return MULTI_BYTE;
    if (b < 0x80) {
      this.pos = pos + 1;
      return (b >>> 1) ^ -(b & 1);
    }
    const b2 = bytes[pos + 1];
    if (b2 === undefined || b2 >= 0x80) return MULTI_BYTE;
    this.pos = pos + 2;
    const v = (b & 0x7f) | (b2 << 7);
    return (v >>> 1) ^ -(v & 1);
  }
}
