import { ApiError } from '../../../errors';
import type { ConsumerRecord, RecordCursor } from '../../../engine/storage-engine';
import type { EmbeddedFormat } from '../../media-types';
import { isJsonText } from './json-text';
import { JsonBytesWriter, JsonFragment } from './json-bytes-writer';
import { ArrayRecordCursor } from './array-record-cursor';
import type { ResponseBufferPool } from './response-buffers';

/** One partition's records to show, in order. */
export interface RecordSource {
  topic: string;
  partition: number;
  records: RecordCursor;
}

export interface RenderedRecords {
  /** A JSON array of the first `count` records, UTF-8. */
  json: Buffer;
  /** The buffer `json` is a view of: what goes back to the pool it was taken from, once sent. */
  buffer: Buffer;
  count: number;
  /** Per source: one past the offset of its last record shown, or -1 when none was shown. */
  nextOffsets: number[];
  /** Why the next record could not be shown (a value that is not JSON in the json format). */
  error?: ApiError;
  /** The record `error` is about. */
  failed?: { topic: string; partition: number; offset: number };
}

const NULL = new JsonFragment('null');
const VALUE_FIELD = new JsonFragment(',"value":');
const TIMESTAMP_FIELD = new JsonFragment(',"timestamp":');
const NO_HEADERS_END = new JsonFragment(',"headers":[]}');

/** Whole-response size guess per stored byte or byte of key and value budget: the JSON around each record roughly doubles it. */
const BYTES_PER_BUDGET_BYTE = 2.5;
const MAX_INITIAL_BYTES = 8 << 20;

/**
 * A records response written as JSON bytes directly from record cursors: the same document, field
 * for field, as JSON.stringify(records.map((r) => toWireRecord(format, r))), with no object or
 * string per record. Over the embedded engine's cursors the key and value bytes go from the stored
 * batch to the response in one copy; in the json format a value's stored bytes are already JSON
 * text: they are checked (isJsonText) and copied, not parsed and serialized again; a cursor that
 * knows its batch's values to be JSON already (RecordCursor.valuesAreJson, from an earlier read of
 * the same stored batch) spares the check, and is told of each value checked so it can learn that.
 *
 * With a pool the output is written into one of its buffers (RenderedRecords.buffer), which the
 * caller gives back once the response is sent.
 *
 * Sources are shown in order while the keys and values fit `maxBytes` (Confluent's max_bytes, at
 * least one record in all). It stops at the first record it cannot show, so the reader gets the
 * records before it and its position stays on that record, as a Kafka consumer stops on a record it
 * cannot deserialize.
 */
export function renderSources(format: EmbeddedFormat, sources: readonly RecordSource[], maxBytes = Infinity, pool?: ResponseBufferPool): RenderedRecords {
  const size = initialSize(sources, maxBytes);
  const out = new JsonBytesWriter(pool === undefined ? size : pool.take(size));
  const nextOffsets = sources.map(() => -1);
  let count = 0;
  let used = 0;
  // Where the last record's tail (`,"timestamp":...,"headers":[]}`) is in the output, for records
  // without headers: records of a batch often share a timestamp, and then the whole tail.
  let tailTimestamp = NaN;
  let tailStart = 0;
  let tailEnd = 0;
  out.ascii('[');
  for (let s = 0; s < sources.length; s++) {
    const source = sources[s] as RecordSource;
    const cursor = source.records;
    const head = new JsonFragment(`{"topic":${JSON.stringify(source.topic)},"key":`);
    const nextHead = new JsonFragment(`,{"topic":${JSON.stringify(source.topic)},"key":`);
    const partitionField = new JsonFragment(`,"partition":${source.partition},"offset":`);
    while (cursor.next()) {
      const keyEnd = cursor.keyEnd;
      const valueEnd = cursor.valueEnd;
      used += Math.max(0, keyEnd - cursor.keyStart) + Math.max(0, valueEnd - cursor.valueStart);
      if (used > maxBytes && count > 0) return done(out, count, nextOffsets);
      if (format === 'json' && valueEnd !== -1 && cursor.valuesAreJson !== true && !isJsonText(cursor.valueBytes, cursor.valueStart, valueEnd)) {
        const failed = { topic: source.topic, partition: source.partition, offset: cursor.offset };
        const error = new ApiError(
          'RECORD_CONVERSION',
          `Record ${failed.topic}-${failed.partition}@${failed.offset} is not JSON; read it with a consumer of the binary or string format, or move past it with positions`,
        );
        return { ...done(out, count, nextOffsets), error, failed };
      }
      out.fragment(count > 0 ? nextHead : head);
      if (keyEnd === -1) out.fragment(NULL);
      else key(out, format, cursor.keyBytes, cursor.keyStart, keyEnd);
      out.fragment(VALUE_FIELD);
      if (valueEnd === -1) out.fragment(NULL);
      else if (format === 'json') out.raw(cursor.valueBytes, cursor.valueStart, valueEnd);
      else if (format === 'binary') out.base64(cursor.valueBytes, cursor.valueStart, valueEnd);
      else out.string(cursor.valueBytes, cursor.valueStart, valueEnd);
      out.fragment(partitionField);
      out.uint(cursor.offset);
      const timestamp = cursor.timestamp;
      if (cursor.headerCount !== 0) {
        out.fragment(TIMESTAMP_FIELD);
        out.uint(timestamp);
        headers(out, format, cursor);
      } else if (timestamp === tailTimestamp) out.repeat(tailStart, tailEnd);
      else {
        tailTimestamp = timestamp;
        tailStart = out.size;
        out.fragment(TIMESTAMP_FIELD);
        out.uint(timestamp);
        out.fragment(NO_HEADERS_END);
        tailEnd = out.size;
      }
      if (format === 'json') cursor.valueWasJson?.();
      nextOffsets[s] = cursor.offset + 1;
      count++;
    }
  }
  return done(out, count, nextOffsets);
}

/**
 * The output buffer's first size: enough for the stored bytes at hand, or for the budget where the
 * cursors cannot tell, so that a long-poll answering one record does not take megabytes.
 */
function initialSize(sources: readonly RecordSource[], maxBytes: number): number {
  let stored = 0;
  for (const { records } of sources) {
    if (records.storedBytes === undefined) {
      stored = Infinity;
      break;
    }
    stored += records.storedBytes;
  }
  return Math.ceil(Math.min(MAX_INITIAL_BYTES, Math.max(4096, Math.min(stored, maxBytes) * BYTES_PER_BUDGET_BYTE)));
}

/** renderSources over a list of records (consecutive records of one partition form a source). */
export function renderRecords(format: EmbeddedFormat, records: readonly ConsumerRecord[], maxBytes = Infinity): RenderedRecords {
  const sources: RecordSource[] = [];
  for (let start = 0; start < records.length; ) {
    const first = records[start] as ConsumerRecord;
    let end = start + 1;
    while (end < records.length && (records[end] as ConsumerRecord).topic === first.topic && (records[end] as ConsumerRecord).partition === first.partition) end++;
    sources.push({ topic: first.topic, partition: first.partition, records: new ArrayRecordCursor(records, start, end) });
    start = end;
  }
  return renderSources(format, sources, maxBytes);
}

function done(out: JsonBytesWriter, count: number, nextOffsets: number[]): RenderedRecords {
  out.ascii(']');
  return { json: out.bytes(), buffer: out.backing, count, nextOffsets };
}

/** As toWireRecord: in the json format a key holding a JSON object or array is shown as JSON, any other as text. */
function key(out: JsonBytesWriter, format: EmbeddedFormat, bytes: Buffer, start: number, end: number): void {
  if (format === 'binary') out.base64(bytes, start, end);
  else if (format === 'json' && end > start && (bytes[start] === 0x7b || bytes[start] === 0x5b) && isJsonText(bytes, start, end)) out.raw(bytes, start, end);
  else out.string(bytes, start, end);
}

function headers(out: JsonBytesWriter, format: EmbeddedFormat, cursor: RecordCursor): void {
  out.ascii(',"headers":[');
  cursor.headers().forEach((h, i) => {
    out.text(`${i > 0 ? ',' : ''}{"key":${JSON.stringify(h.key)},"value":`);
    if (h.value === null) out.ascii('null');
    else if (format === 'binary') out.base64(h.value);
    else out.string(h.value);
    out.ascii('}');
  });
  out.ascii(']}');
}
