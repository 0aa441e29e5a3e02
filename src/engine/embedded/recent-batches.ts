import { readBatchHeader, RecordBatchHeader } from './codec/record-batch';
import type { ScannedBatch } from './batch-scanner';
import type { SegmentReadResult } from './log-segment';

interface RecentBatch {
  baseOffset: number;
  lastOffset: number;
  buffer: Buffer;
  filePosition: number;
  header: RecordBatchHeader | undefined;
}

/** What a partition keeps of its newest batches; a batch larger than this is not kept. */
export const RECENT_BATCHES_MAX_BYTES = 256 * 1024;
/**
 * How many batches it keeps at most. The fetches an append wakes read its newest few batches (an
 * event stream's tail lags by what arrived during one lap); a reader further behind reads the file.
 * Without this bound 256 KiB of one-record batches is thousands of buffers, all kept long enough
 * to be promoted to the old generation, for reads that never come.
 */
export const RECENT_BATCHES_MAX_COUNT = 128;

/**
 * The newest batches of a partition log, as encoded for the file, kept while fetches wait on the
 * partition: the fetch that an append wakes reads the batch from here instead of reading back what
 * was just written, which saves a file read (a thread pool round trip) between an append and its
 * delivery to long-polls and event streams. The bytes are the very ones written to the file.
 *
 * A ring of `maxCount` slots, allocated once and overwritten, so that an append allocates nothing
 * here and dropping the oldest batch is moving an index (it is on every append's path).
 *
 * Invariants: entries are whole batches in offset order with no gap between them (an append that
 * would leave one clears the rest first); together they hold at most `maxBytes` and `maxCount`
 * batches. It knows nothing of the high watermark: the log bounds every read by it, as it bounds
 * file reads.
 */
export class RecentBatches {
  private readonly slots: RecentBatch[] = [];
  /** Index in `slots` of the oldest entry. */
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxBytes = RECENT_BATCHES_MAX_BYTES,
    private readonly maxCount = RECENT_BATCHES_MAX_COUNT,
  ) {}

  add(buffer: Buffer, baseOffset: number, lastOffset: number, filePosition: number): void {
    if (this.count > 0 && this.entry(this.count - 1).lastOffset + 1 !== baseOffset) this.clear();
    if (buffer.length > this.maxBytes) {
      this.clear();
      return;
    }
    while (this.count > 0 && (this.count === this.maxCount || this.bytes + buffer.length > this.maxBytes)) this.dropOldest();
    const index = (this.head + this.count) % this.maxCount;
    let slot = this.slots[index];
    if (slot === undefined) {
      slot = { baseOffset, lastOffset, buffer, filePosition, header: undefined };
      this.slots[index] = slot;
    } else {
      slot.baseOffset = baseOffset;
      slot.lastOffset = lastOffset;
      slot.buffer = buffer;
      slot.filePosition = filePosition;
      slot.header = undefined;
    }
    this.count++;
    this.bytes += buffer.length;
  }

  clear(): void {
    while (this.count > 0) this.dropOldest();
    this.head = 0;
  }

  /**
   * The batches from the one holding `offset` on, within `maxBytes` (the first counts even if larger
   * when `minOneBatch`), as a segment read would return them; undefined when `offset` is not here.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): SegmentReadResult | undefined {
    if (this.count === 0 || offset < this.entry(0).baseOffset || offset > this.entry(this.count - 1).lastOffset) return undefined;
    let i = this.count - 1;
    while (this.entry(i).baseOffset > offset) i--;
    const batches: ScannedBatch[] = [];
    let bytes = 0;
    for (; i < this.count; i++) {
      const e = this.entry(i);
      if ((batches.length > 0 || !minOneBatch) && bytes + e.buffer.length > maxBytes) break;
      e.header ??= readBatchHeader(e.buffer, 0);
      batches.push({ header: e.header, buf: e.buffer, pos: 0, filePosition: e.filePosition });
      bytes += e.buffer.length;
    }
    return { batches, bytes, stop: 'end' };
  }

  /** The i-th entry, oldest first. */
  private entry(i: number): RecentBatch {
    return this.slots[(this.head + i) % this.maxCount];
  }

  private dropOldest(): void {
    const slot = this.slots[this.head];
    this.bytes -= slot.buffer.length;
    // the slot stays for reuse; its buffer and header must not outlive the entry
    slot.buffer = EMPTY;
    slot.header = undefined;
    this.head = (this.head + 1) % this.maxCount;
    this.count--;
  }
}

const EMPTY = Buffer.alloc(0);
