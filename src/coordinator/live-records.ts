/** A record that holds a live key's current value, as it is in the log. */
export interface LiveRecord {
  key: Buffer;
  value: Buffer;
  /** The record's timestamp: retention judges its segment by the largest of these. */
  timestamp: number;
}

/**
 * The records that hold one coordinator partition's current state: for every live key (one whose
 * latest record is not a tombstone) that latest record's bytes and timestamp. It is what Kafka's
 * compaction would keep of the partition; the embedded engine has no compaction, so the coordinator
 * re-appends the records this names as old (`olderThan`) before retention can reach them.
 *
 * Fed in log order: every record at replay, then every record once its append succeeded. Entries
 * are kept in the order of their last record, so the oldest come first and `olderThan` stops at
 * the first younger one (a clock that went back leaves an entry behind a younger one until that
 * one is old too).
 *
 * Keys are compared as bytes, whatever their version: a record of a key version this code cannot
 * decode is still kept alive.
 */
export class LiveRecords {
  private readonly live = new Map<string, LiveRecord>();
  /** Keys with an append issued and not yet settled, and how many. */
  private readonly pending = new Map<string, number>();

  get size(): number {
    return this.live.size;
  }

  /**
   * A record the coordinator appended is in the log: its key's current record, or (null value) the
   * end of the key. Its buffers are kept as they are: they are the coordinator's own.
   */
  observe(key: Buffer | null, value: Buffer | null, timestamp: number): void {
    if (key === null) return;
    const id = key.toString('latin1');
    this.live.delete(id);
    if (value !== null) this.live.set(id, { key, value, timestamp });
  }

  /** observe for a record read back at load: its bytes are a view of a whole fetch response, so a live one is copied. */
  observeReplayed(record: { key: Buffer | null; value: Buffer | null; timestamp: number }): void {
    const { key, value, timestamp } = record;
    if (key === null || value === null) this.observe(key, null, timestamp);
    else this.observe(Buffer.from(key), Buffer.from(value), timestamp);
  }

  /** An append of these keys was issued; `settled` once it succeeded (and was observed) or failed. */
  issued(keys: Buffer[]): void {
    for (const key of keys) {
      const id = key.toString('latin1');
      this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
    }
  }

  settled(keys: Buffer[]): void {
    for (const key of keys) {
      const id = key.toString('latin1');
      const n = (this.pending.get(id) ?? 1) - 1;
      if (n === 0) this.pending.delete(id);
      else this.pending.set(id, n);
    }
  }

  /**
   * A key with an append in flight: re-appending its current record now could land after that
   * append and undo it; the append supersedes the record anyway.
   */
  isPending(key: Buffer): boolean {
    return this.pending.has(key.toString('latin1'));
  }

  /** The current record of a key, if it is live. */
  get(key: Buffer): LiveRecord | undefined {
    return this.live.get(key.toString('latin1'));
  }

  /** Current records written before `cutoff`, oldest first. */
  olderThan(cutoff: number): LiveRecord[] {
    const out: LiveRecord[] = [];
    for (const record of this.live.values()) {
      if (record.timestamp >= cutoff) break;
      out.push(record);
    }
    return out;
  }
}

/** Bytes of records in one refresh append: well under the internal topics' max.message.bytes (1 MiB). */
const REFRESH_BATCH_BYTES = 256 << 10;

/** Records to re-append, split into appends that each fit in a record batch. */
export function refreshBatches<T extends LiveRecord>(records: T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const r of records) {
    if (batch.length > 0 && bytes + r.key.length + r.value.length > REFRESH_BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(r);
    bytes += r.key.length + r.value.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
