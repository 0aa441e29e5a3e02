import { EngineError } from '../engine-error';
import type { ConsumerRecord, IsolationLevel, ProducerRecord, RecordHeader } from '../storage-engine';
import type { KjsMessage, KjsProduceMessage } from './kafkajs-internals';

/**
 * Conversions between Basket's records and kafkajs's, and the consumer-side rules a Kafka client
 * applies to a fetched record set: drop records below the fetch offset (a batch starts where it
 * starts), drop control records, drop aborted transactional records under read_committed, and cut
 * the result at the byte budget (never below one record).
 *
 * kafkajs carries headers as an object keyed by header key, so headers keep their order per key
 * but keys that repeat with other keys between them come back grouped, and a header with a null
 * value cannot be sent (its encoder measures the value before testing for null).
 */

/** Bytes a record counts for against maxBytes: key, value and headers, as a REST consumer sees them. */
export function recordSize(record: { key: Buffer | null; value: Buffer | null; headers?: RecordHeader[] }): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const h of record.headers ?? []) size += Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return size;
}

export function toKafkajsHeaders(headers: RecordHeader[] | undefined): Record<string, Buffer[]> | undefined {
  if (headers === undefined || headers.length === 0) return undefined;
  const out: Record<string, Buffer[]> = {};
  for (const h of headers) {
    if (h.value === null) {
      throw new EngineError('INVALID_RECORD', `Header '${h.key}' has a null value, which the kafka engine cannot send (kafkajs encodes header values as bytes only)`);
    }
    (out[h.key] ??= []).push(h.value);
  }
  return out;
}

export function fromKafkajsHeaders(headers: KjsMessage['headers']): RecordHeader[] {
  const out: RecordHeader[] = [];
  if (headers === undefined) return out;
  for (const [key, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const v of value) out.push({ key, value: v ?? null });
    else out.push({ key, value: value ?? null });
  }
  return out;
}

function asBytes(data: Buffer | string | null): Buffer | null {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** A record for kafkajs's produce encoder; the timestamp is fixed here so the caller knows it. */
export function toKafkajsMessage(record: ProducerRecord, now: number): KjsProduceMessage {
  const timestamp = record.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    // kafkajs's encoder takes a 0 timestamp for "now", and Kafka rejects negative ones.
    throw new EngineError('INVALID_RECORD', `Record timestamp must be a positive integer (ms since the epoch), got ${timestamp}`);
  }
  return { key: asBytes(record.key), value: asBytes(record.value), headers: toKafkajsHeaders(record.headers), timestamp };
}

export interface DecodedPartition {
  records: ConsumerRecord[];
  /** One past the last offset consumed: a returned record, or a skipped control or aborted one. */
  nextOffset: number;
  bytes: number;
}

const CONTROL_ABORT = 0;

/** A control record's key is version (int16) then type (int16): 0 abort, 1 commit. */
function isAbortMarker(message: KjsMessage): boolean {
  return message.key !== null && message.key.length >= 4 && message.key.readInt16BE(2) === CONTROL_ABORT;
}

/**
 * Applies a Kafka consumer's rules to one partition's fetched messages (in offset order).
 * `aborted` is the Fetch response's aborted transaction list; used only under read_committed.
 */
export function decodePartitionRecords(
  topic: string,
  partition: number,
  fetchOffset: number,
  messages: KjsMessage[],
  aborted: Array<{ producerId: string; firstOffset: string }>,
  isolationLevel: IsolationLevel,
  byteBudget: number,
  requireOne: boolean,
): DecodedPartition {
  const pendingAborts = isolationLevel === 'read_committed' ? [...aborted].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset)) : [];
  const abortedProducers = new Set<string>();
  const records: ConsumerRecord[] = [];
  let nextOffset = fetchOffset;
  let bytes = 0;
  for (const message of messages) {
    const offset = Number(message.offset);
    const batch = message.batchContext;
    if (batch !== undefined && pendingAborts.length > 0) {
      // As Kafka's consumer: a transaction whose first offset is at or before this batch's end is open-and-aborted from here on.
      const batchLast = Number(batch.firstOffset) + batch.lastOffsetDelta;
      while (pendingAborts.length > 0 && Number(pendingAborts[0].firstOffset) <= batchLast) abortedProducers.add(pendingAborts.shift()!.producerId);
    }
    const control = message.isControlRecord === true || batch?.isControlBatch === true;
    if (control) {
      if (batch !== undefined && isAbortMarker(message)) abortedProducers.delete(batch.producerId);
      if (offset >= nextOffset) nextOffset = offset + 1;
      continue;
    }
    if (offset < fetchOffset) continue;
    if (batch?.inTransaction === true && abortedProducers.has(batch.producerId)) {
      nextOffset = offset + 1;
      continue;
    }
    const record: ConsumerRecord = {
      topic,
      partition,
      offset,
      timestamp: Number(message.timestamp),
      timestampType: batch?.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
      key: message.key ?? null,
      value: message.value ?? null,
      headers: fromKafkajsHeaders(message.headers),
    };
    const size = recordSize(record);
    if (bytes + size > byteBudget && (records.length > 0 || !requireOne)) break;
    records.push(record);
    bytes += size;
    nextOffset = offset + 1;
  }
  return { records, nextOffset, bytes };
}
