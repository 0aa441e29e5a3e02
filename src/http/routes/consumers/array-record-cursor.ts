import type { ConsumerRecord, FetchCursorResponse, FetchRequest, RecordHeader, StorageEngine } from '../../../engine/storage-engine';
import { NO_BYTES, RecordCursorFields } from '../../../engine/record-cursor-fields';

/**
 * A RecordCursor over record objects: the object path (engines without `fetchCursors`, such as the
 * kafka engine) seen through the same interface as stored batches, so one renderer serves both.
 */
export class ArrayRecordCursor extends RecordCursorFields {
  private index: number;

  /** Yields records[start, end). */
  constructor(
    private readonly records: readonly ConsumerRecord[],
    start = 0,
    private readonly end = records.length,
  ) {
    super();
    this.index = start;
  }

  next(): boolean {
    if (this.index >= this.end) return false;
    const r = this.records[this.index++] as ConsumerRecord;
    this.offset = r.offset;
    this.timestamp = r.timestamp;
    this.timestampType = r.timestampType;
    this.keyBytes = r.key ?? NO_BYTES;
    this.keyEnd = r.key === null ? -1 : r.key.length;
    this.valueBytes = r.value ?? NO_BYTES;
    this.valueEnd = r.value === null ? -1 : r.value.length;
    this.headerCount = r.headers.length;
    return true;
  }

  headers(): RecordHeader[] {
    return (this.records[this.index - 1] as ConsumerRecord).headers;
  }
}

/**
 * engine.fetchCursors where the engine has it, else engine.fetch with each partition's records
 * behind an ArrayRecordCursor (records below the requested offset left out, as the cursors do).
 */
export async function fetchCursors(engine: StorageEngine, request: FetchRequest): Promise<FetchCursorResponse> {
  if (engine.fetchCursors !== undefined) return engine.fetchCursors(request);
  const response = await engine.fetch(request);
  return {
    partitions: response.partitions.map((result, i) => {
      const from = request.partitions[i]?.offset ?? 0;
      let start = 0;
      while (start < result.records.length && (result.records[start] as ConsumerRecord).offset < from) start++;
      return { ...result, records: new ArrayRecordCursor(result.records, start), empty: start === result.records.length };
    }),
  };
}
