import type { ConsumerRecord } from '../engine/storage-engine';
import type { EmbeddedFormat } from '../http/media-types';
import { toWireRecord } from '../produce/record-serde';
import { toApiError } from '../errors';

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

export function shareRecords(records: readonly ConsumerRecord[]): SharedRecord[] {
  return records.map((r) => new SharedRecord(r));
}
