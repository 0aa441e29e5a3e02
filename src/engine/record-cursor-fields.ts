import type { RecordCursor, RecordHeader, TimestampType } from './storage-engine';

/** A zero-length buffer: the key or value bytes of a cursor before its first record, or of a null. */
export const NO_BYTES = Buffer.alloc(0);

/**
 * The current record's fields as every RecordCursor exposes them (see RecordCursor): a subclass
 * walks its source (stored batches, record objects) and sets them in `next()`. A null key or value
 * has an end of -1.
 */
export abstract class RecordCursorFields implements RecordCursor {
  offset = 0;
  timestamp = 0;
  timestampType: TimestampType = 'CreateTime';
  keyBytes: Buffer = NO_BYTES;
  keyStart = 0;
  keyEnd = -1;
  valueBytes: Buffer = NO_BYTES;
  valueStart = 0;
  valueEnd = -1;
  headerCount = 0;

  abstract next(): boolean;
  abstract headers(): RecordHeader[];
}
