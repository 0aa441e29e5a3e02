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
 * The newest batches of a partition log, as encoded for the file, kept while fetches wait on the
 * partition: the fetch that an append wakes reads the batch from here instead of reading back what
 * was just written, which saves a file read (a thread pool round trip) between an append and its
 * delivery to long-polls and event streams. The bytes are the very ones written to the file.
 *
 * Invariants: entries are whole batches in offset order with no gap between them (an append that
 * would leave one clears the rest first); together they hold at most `maxBytes`. It knows nothing
 * of the high watermark: the log bounds every read by it, as it bounds file reads.
 */
export class RecentBatches {
  private entries: RecentBatch[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes = RECENT_BATCHES_MAX_BYTES) {}

  add(buffer: Buffer, baseOffset: number, lastOffset: number, filePosition: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.lastOffset + 1 !== baseOffset) this.clear();
    if (buffer.length > this.maxBytes) {
      this.clear();
      return;
    }
    this.entries.push({ baseOffset, lastOffset, buffer, filePosition, header: undefined });
    this.bytes += buffer.length;
    let drop = 0;
    while (this.bytes > this.maxBytes) this.bytes -= this.entries[drop++].buffer.length;
    if (drop > 0) this.entries = this.entries.slice(drop);
  }

  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.bytes = 0;
  }

  /**
   * The batches from the one holding `offset` on, within `maxBytes` (the first counts even if larger
   * when `minOneBatch`), as a segment read would return them; undefined when `offset` is not here.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): SegmentReadResult | undefined {
    const entries = this.entries;
    if (entries.length === 0 || offset < entries[0].baseOffset || offset > entries[entries.length - 1].lastOffset) return undefined;
    let i = entries.length - 1;
    while (entries[i].baseOffset > offset) i--;
    const batches: ScannedBatch[] = [];
    let bytes = 0;
    for (; i < entries.length; i++) {
      const e = entries[i];
      if ((batches.length > 0 || !minOneBatch) && bytes + e.buffer.length > maxBytes) break;
      e.header ??= readBatchHeader(e.buffer, 0);
      batches.push({ header: e.header, buf: e.buffer, pos: 0, filePosition: e.filePosition });
      bytes += e.buffer.length;
    }
    return { batches, bytes, stop: 'end' };
  }
}
