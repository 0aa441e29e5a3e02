import type { ConsumerRecord } from '../engine/storage-engine';
import type { EmbeddedFormat } from '../http/media-types';
import { toWireRecord } from '../produce/record-serde';
import { toApiError } from '../errors';
import { isJsonText } from '../http/routes/consumers/json-text';

/** The event for a record: the record as JSON, or (`unreadable`) why it cannot be shown in that format. */
export interface RecordData {
  event: 'record' | 'unreadable';
  json: string;
}

/**
 * A record read once and handed to every stream positioned at it. Its JSON is built at most once per
 * embedded format, on first use, however many streams show it: with thousands of subscribers of one
 * partition, serialization is paid per record, not per subscriber.
 */
export class SharedRecord {
  private readonly byFormat: Partial<Record<EmbeddedFormat, RecordData>> = {};

  constructor(readonly record: ConsumerRecord) {}

  get offset(): number {
    return this.record.offset;
  }

  data(format: EmbeddedFormat): RecordData {
    return (this.byFormat[format] ??= serialize(format, this.record));
  }
}

function serialize(format: EmbeddedFormat, record: ConsumerRecord): RecordData {
  const plain = format === 'json' ? plainJsonRecord(record) : undefined;
  if (plain !== undefined) return { event: 'record', json: plain };
  try {
    return { event: 'record', json: JSON.stringify(toWireRecord(format, record)) };
  } catch (err) {
    // A value that is not JSON, read in the json format: the stream says so and moves past it
    // rather than ending, since a reconnect would meet the same record again.
    const api = toApiError(err);
    if (api === undefined) throw err;
    return {
      event: 'unreadable',
      json: JSON.stringify({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        error_code: api.errorCode,
        message: api.message,
      }),
    };
  }
}

/**
 * The json format's event data for the common record (no key, no headers) whose stored value is
 * JSON text on one line: JSON.stringify(toWireRecord('json', record)), except that the value's own
 * text goes in as stored (as GET records copies it) instead of parsed and serialized again: the
 * same JSON, byte for byte when the producer's was compact. Undefined for any other record, which
 * takes the general path.
 */
function plainJsonRecord(r: ConsumerRecord): string | undefined {
  const value = r.value;
  if (r.key !== null || r.headers.length !== 0 || value === null) return undefined;
  // A line break (whitespace between tokens) would end the event's data line early.
  if (value.includes(0x0a) || value.includes(0x0d) || !isJsonText(value)) return undefined;
  return `{"topic":${JSON.stringify(r.topic)},"key":null,"value":${value.toString('utf8')},"partition":${r.partition},"offset":${r.offset},"timestamp":${r.timestamp},"headers":[]}`;
}

export function shareRecords(records: readonly ConsumerRecord[]): SharedRecord[] {
  return records.map((r) => new SharedRecord(r));
}
