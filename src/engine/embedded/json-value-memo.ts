import type { ScannedBatch } from './batch-scanner';
import { CRC_OFFSET } from './codec/record-batch-format';

/** Batches remembered at most, the oldest forgotten first past it: about 150 bytes each, 10 MB in all. */
export const JSON_VALUE_MEMO_MAX_ENTRIES = 65_536;
/** Batches of fewer records are not remembered: naming one costs about as much as checking its values. */
export const MEMO_MIN_RECORDS = 16;

/**
 * Stored batches whose every value a reader found to be JSON text, so that json reads of the same
 * batch again (another consumer group, a re-read after a seek) copy its values without checking
 * each one again. A batch is named by where it is stored (the partition and segment, as in
 * corruption messages, and its file position) together with its own base offset, size and CRC-32C:
 * stored bytes never change in place, and a batch written later at the same place (after a
 * truncation, or in a topic deleted and created again under the same name) is taken for the old
 * one only if all of those match, a CRC collision between batches of the same size.
 *
 * Invariants: an entry is added only after every record of the batch was checked, by a reader (see
 * BatchRecordCursor.valueWasJson) or by the produce path before the append (AppendOptions.valuesAreJson,
 * added once the batch is written, see PartitionLog.append); at most JSON_VALUE_MEMO_MAX_ENTRIES
 * entries, the oldest forgotten first. Memory only: a restart starts empty.
 */
export class JsonValueMemo {
  private readonly batches = new Set<string>();
  /**
   * The names in the order added, as a ring once full: `order[oldest]` is the next to forget. Not the
   * Set's own first entry: finding that walks past the slots of every name deleted since the Set was
   * last rehashed, tens of microseconds an add once the memo is full.
   */
  private order: string[] = [];
  private oldest = 0;
  /** `has` calls that found their batch: a json read that copied a batch's values unchecked (tests and diagnostics). */
  hits = 0;

  constructor(private readonly maxEntries = JSON_VALUE_MEMO_MAX_ENTRIES) {}

  /** The name of a batch as a reader scanned it from the log. */
  static keyOf(where: string, batch: ScannedBatch): string {
    return batchName(where, batch.filePosition, batch.header.baseOffset, batch.header.sizeInBytes, batch.buf.readUInt32BE(batch.pos + CRC_OFFSET));
  }

  /**
   * The name of the encoded batch `bytes` (the whole batch, as written) with base offset
   * `baseOffset`, written at `filePosition` of the segment `where` names: the name keyOf gives it
   * once a reader scans it back.
   */
  static keyOfWritten(where: string, filePosition: number, baseOffset: number, bytes: Buffer): string {
    return batchName(where, filePosition, baseOffset, bytes.length, bytes.readUInt32BE(CRC_OFFSET));
  }

  /** How readers and writers name a segment of a partition (as corruption messages do). */
  static segmentName(topic: string, partition: number, segmentBaseOffset: number): string {
    return `${topic}-${partition} segment ${segmentBaseOffset}`;
  }

  has(key: string): boolean {
    const found = this.batches.has(key);
    if (found) this.hits++;
    return found;
  }

  add(key: string): void {
    if (this.batches.has(key)) return;
    if (this.order.length < this.maxEntries) this.order.push(key);
    else {
      this.batches.delete(this.order[this.oldest] as string);
      this.order[this.oldest] = key;
      this.oldest = (this.oldest + 1) % this.maxEntries;
    }
    this.batches.add(key);
  }

  /** The remembered batches' names, oldest first (diagnostics and tests). */
  keys(): IterableIterator<string> {
    return this.batches.values();
  }

  get size(): number {
    return this.batches.size;
  }

  clear(): void {
    this.batches.clear();
    this.order = [];
    this.oldest = 0;
  }
}

/** The one spelling of a batch's name, for readers (keyOf) and writers (keyOfWritten) alike. */
function batchName(where: string, filePosition: number, baseOffset: number, sizeInBytes: number, crc: number): string {
  return `${where}@${filePosition}:${baseOffset}:${sizeInBytes}:${crc}`;
}

/** The engine's memo: one per process, as the stored bytes it describes are the process's own files. */
export const jsonValueMemo = new JsonValueMemo();
