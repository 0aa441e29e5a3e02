import { ApiError } from '../errors';
import type { EmbeddedFormat } from '../http/media-types';
import type { ConsumerRecord, ProducerRecord, RecordHeader } from '../engine/storage-engine';
import type { ScannedRecord } from '../http/produce-body/produce-body';

/**
 * How keys, values and headers become bytes on the log, and back. The rules (DESIGN.md):
 * - json: a value is stored as the client's own JSON text of it, as sent (whitespace and number
 *   spelling kept), so it reads back equal by JSON.parse. A key that is a JSON string
 *   is stored as its UTF-8 text without quotes, so it hashes and reads like a key sent by a Kafka
 *   client's string serializer; other JSON keys are stored as JSON text. Reading, a key that is a
 *   JSON object or array comes back parsed, any other key as its text.
 * - string: text stored as UTF-8, as it is.
 * - binary: base64 in the body, the decoded bytes on the log.
 * null (or absent) is a null key or value, distinct from an empty one.
 * Header values travel as UTF-8 text in the json and string formats and as base64 in binary.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type WireHeaders = Array<{ key?: string; name?: string; value: string | null }> | Record<string, string | null>;

/**
 * Keys and values of the json and string formats stay strings (their UTF-8 bytes are what is
 * stored): the engine writes them into the batch directly, without a Buffer per record.
 */
export function serializeKey(format: EmbeddedFormat, key: unknown, where: string): Buffer | string | null {
  if (key === undefined || key === null) return null;
  if (format === 'json') return typeof key === 'string' ? key : JSON.stringify(key);
  return textOrBase64(format, key, where);
}

export function serializeValue(format: EmbeddedFormat, value: unknown, where: string): Buffer | string | null {
  if (value === undefined || value === null) return null;
  if (format === 'json') return JSON.stringify(value);
  return textOrBase64(format, value, where);
}

/**
 * One produce body record to the engine's form. The hot path of batch produce: the body scanner
 * (src/http/produce-body) left json-format keys and values as their stored text, so only the
 * binary and string formats convert here; no per-record strings are built unless a field is
 * refused (the error names `records[i].field`).
 */
export function serializeRecord(format: EmbeddedFormat, r: ScannedRecord, index: number): ProducerRecord {
  // json keys and values are already their stored text or null: the scanned record is the engine's record
  if (format === 'json' && r.headers === undefined) return r as ProducerRecord & ScannedRecord;
  let key: Buffer | string | null = null;
  let value: Buffer | string | null = null;
  if (r.key !== null) {
    key = format === 'json' ? (r.key as string) : textOrBase64(format, r.key, `records[${index}].key`);
  }
  if (r.value !== null) {
    value = format === 'json' ? (r.value as string | Buffer) : textOrBase64(format, r.value, `records[${index}].value`);
  }
  const record: ProducerRecord = { key, value, timestamp: r.timestamp };
  if (r.headers !== undefined) record.headers = serializeHeaders(format, r.headers, `records[${index}]`);
  return record;
}

export function serializeHeaders(format: EmbeddedFormat, headers: WireHeaders | undefined, where: string): RecordHeader[] {
  if (headers === undefined) return [];
  const entries: Array<[string | undefined, string | null]> = Array.isArray(headers)
    ? headers.map((h) => [h.key ?? h.name, h.value])
    : Object.entries(headers);
  return entries.map(([key, value], i) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new ApiError('RECORD_CONVERSION', `${where}.headers[${i}] needs a non-empty key`);
    }
    if (value === null) return { key, value: null };
    return { key, value: format === 'binary' ? decodeBase64(value, `${where}.headers[${i}].value`) : Buffer.from(value, 'utf8') };
  });
}

function textOrBase64(format: 'binary' | 'string', data: unknown, where: string): Buffer | string {
  if (typeof data !== 'string') {
    throw new ApiError('RECORD_CONVERSION', `${where} must be a ${format === 'binary' ? 'base64 ' : ''}string in the ${format} format`);
  }
  return format === 'binary' ? decodeBase64(data, where) : data;
}

function decodeBase64(data: unknown, where: string): Buffer {
  if (typeof data !== 'string' || !BASE64.test(data)) {
    throw new ApiError('RECORD_CONVERSION', `${where} is not valid base64`);
  }
  return Buffer.from(data, 'base64');
}

/** The JSON shape of a record in reads: the same for stateless reads, consumer instances and SSE. */
export interface WireRecord {
  topic: string;
  key: unknown;
  value: unknown;
  partition: number;
  offset: number;
  timestamp: number;
  headers: Array<{ key: string; value: string | null }>;
}

export function toWireRecord(format: EmbeddedFormat, r: ConsumerRecord): WireRecord {
  return {
    topic: r.topic,
    key: deserializeKey(format, r.key),
    value: deserializeValue(format, r.value, r),
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    headers: r.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : format === 'binary' ? h.value.toString('base64') : h.value.toString('utf8'),
    })),
  };
}

function deserializeKey(format: EmbeddedFormat, key: Buffer | null): unknown {
  if (key === null) return null;
  if (format === 'binary') return key.toString('base64');
  const text = key.toString('utf8');
  if (format === 'json' && (text.startsWith('{') || text.startsWith('['))) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function deserializeValue(format: EmbeddedFormat, value: Buffer | null, r: ConsumerRecord): unknown {
  if (value === null) return null;
  if (format === 'binary') return value.toString('base64');
  const text = value.toString('utf8');
  if (format === 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
      'RECORD_CONVERSION',
      `Record ${r.topic}-${r.partition}@${r.offset} is not JSON; read it with Accept: application/vnd.kafka.binary.v2+json or string`,
    );
  }
}
