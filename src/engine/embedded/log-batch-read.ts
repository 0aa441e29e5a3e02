import { EngineError } from '../engine-error';
import { ConsumerRecord } from '../storage-engine';
import { CorruptBatchError, DecodedRecord, decodeRecords } from './codec/record-batch';
import { ScannedBatch } from './batch-scanner';
import { JsonValueMemo } from './json-value-memo';

export interface LogReadResult {
  records: ConsumerRecord[];
  /** Bytes of the batches the records came from. */
  bytes: number;
  /** One past the last batch read (records of skipped control or aborted batches included). */
  nextOffset: number;
}

/** A read as stored batches; see PartitionLog.readBatches. */
export interface LogBatchRead {
  /** Data batches in offset order: no control batch, and under read_committed none of an aborted transaction. */
  batches: ScannedBatch[];
  /** Bytes of the batches read (skipped ones included), for the fetch's byte budget. */
  bytes: number;
  /** One past the last batch read (records of skipped control or aborted batches included). */
  nextOffset: number;
  /** The read's records are those of `batches` with from <= offset < upTo. */
  from: number;
  upTo: number;
  /** Base offset of the segment read, for corruption messages. */
  segmentBaseOffset: number;
}

/** The records of a LogBatchRead of topic-partition, decoded; a batch that cannot be decoded is CORRUPT_MESSAGE. */
export function decodeLogBatchRead(topic: string, partition: number, read: LogBatchRead): ConsumerRecord[] {
  const records: ConsumerRecord[] = [];
  const where = JsonValueMemo.segmentName(topic, partition, read.segmentBaseOffset);
  for (const batch of read.batches) {
    const timestampType = batch.header.timestampType;
    for (const r of decodeStoredBatch(batch, where)) {
      if (r.offset < read.from) continue;
      if (r.offset >= read.upTo) break;
      records.push({ topic, partition, offset: r.offset, timestamp: r.timestamp, timestampType, key: r.key, value: r.value, headers: r.headers });
    }
  }
  return records;
}

/** A stored batch's records, decompressed; a batch that cannot be decoded is CORRUPT_MESSAGE. */
function decodeStoredBatch(batch: ScannedBatch, where: string): DecodedRecord[] {
  try {
    return decodeRecords(batch.buf, batch.pos);
  } catch (err) {
    if (!(err instanceof CorruptBatchError)) throw err;
    throw corruptBatch(where, batch.header.baseOffset, err);
  }
}

/**
 * The error both read paths (decoded records, record cursors) report for a stored batch that
 * cannot be read: `where` names the partition's segment (JsonValueMemo.segmentName).
 */
export function corruptBatch(where: string, baseOffset: number, cause: Error): EngineError {
  return new EngineError('CORRUPT_MESSAGE', `Corrupt record batch at offset ${baseOffset} in ${where}: ${cause.message}`, { cause });
}

/** Index of the segment holding `offset` among segments in offset order: the last whose base offset is <= offset. */
export function segmentIndexFor(segments: readonly { baseOffset: number }[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segments[mid].baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
