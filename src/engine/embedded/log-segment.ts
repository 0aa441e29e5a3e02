import { promises as fsp } from 'node:fs';
import { decodeRecords, isBatchCrcValid } from './codec/record-batch';
import { FileOps } from './file-ops';
import { FileRecords } from './file-records';
import { logFile, offsetIndexFile, timeIndexFile } from './log-file-names';
import { LogConfig } from './log-config';
import { OffsetIndex } from './offset-index';
import { TimeIndex } from './time-index';
import { ScannedBatch, scanBatches, ScanStop } from './batch-scanner';

const INT32_MAX = 0x7fff_ffff;
const SCAN_CHUNK = 1 << 20;

export interface SegmentReadResult {
  batches: ScannedBatch[];
  bytes: number;
  /** Set when the scan met bytes that are not a whole valid batch before finding what was asked. */
  stop: ScanStop;
}

export interface SegmentRecovery {
  validBytes: number;
  truncatedBytes: number;
  batches: number;
  bytesRead: number;
  stop: ScanStop;
}

/**
 * Kafka's LogSegment: one `.log` file of record batches with its offset and time indexes, all named
 * by the segment's base offset (the first offset it may hold).
 *
 * Appends are two-phase. `append` runs synchronously when the partition assigns offsets: it reserves
 * the file range [size, size + batch) and records index entries, so roll decisions and offsets are
 * exact while the bytes are still queued. The partition's writer then writes the bytes and calls
 * `markWritten`: `writtenSize` is the prefix of the file that is on disk, and reads never pass it.
 * Index entries may point at queued bytes, but only offsets below the high watermark are ever looked
 * up, and a floor lookup of such an offset lands on written bytes.
 *
 * A segment loaded at start-up is opened lazily: its size comes from stat, its file descriptor and
 * indexes from the first read, so start-up does not grow with the number or size of old segments.
 */
export class LogSegment {
  private readonly log: FileRecords;
  private indexesLoading: Promise<void> | undefined;
  private indexesLoaded: boolean;
  /** Bytes reserved by `append`: written plus queued. */
  size: number;
  /** Bytes known to be in the file, in order. */
  writtenSize: number;
  /** One past the last offset appended; exact for the active segment only. */
  nextOffset: number;
  private bytesSinceLastIndexEntry = 0;
  private maxTimestampSoFar = -1;
  private offsetOfMaxTimestampSoFar: number;
  /** Max timestamp of the first batch: segment.ms is measured from it, as in Kafka. */
  private rollingBasedTimestamp = -1;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private config: LogConfig,
    private readonly ops: FileOps,
    /** Creation (or load) time from the engine's clock; the roll fallback when no timestamp. */
    private readonly created: number,
    fileSize: number,
    private mtimeMs: number,
  ) {
    this.log = new FileRecords(logFile(dir, baseOffset), ops);
    this.offsetIndex = new OffsetIndex(offsetIndexFile(dir, baseOffset), baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(timeIndexFile(dir, baseOffset), baseOffset, config.segmentIndexBytes);
    this.size = fileSize;
    this.writtenSize = fileSize;
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestampSoFar = baseOffset;
    this.indexesLoaded = fileSize === 0;
  }

  /** A new, empty segment. Its files are created when first written. */
  static create(dir: string, baseOffset: number, config: LogConfig, ops: FileOps, now: number): LogSegment {
    return new LogSegment(dir, baseOffset, config, ops, now, 0, now);
  }

  /** An existing segment: stat only, nothing read. */
  static async load(dir: string, baseOffset: number, config: LogConfig, ops: FileOps, now: number): Promise<LogSegment> {
    const stat = await fsp.stat(logFile(dir, baseOffset));
    const segment = new LogSegment(dir, baseOffset, config, ops, now, stat.size, stat.mtimeMs);
    segment.indexesLoaded = false;
    return segment;
  }

  /** True when bytes were written since the last fdatasync. */
  get dirty(): boolean {
    return this.log.dirty;
  }

  setConfig(config: LogConfig): void {
    this.config = config;
  }

  /** The open file descriptor; the file is created if missing. */
  open(): Promise<number> {
    return this.log.open();
  }

  /** Reserves the batch's bytes and adds index entries; see the class comment. Returns its position. */
  append(batchSize: number, lastOffset: number, maxTimestamp: number): number {
    const position = this.size;
    if (this.rollingBasedTimestamp < 0 && position === 0) this.rollingBasedTimestamp = maxTimestamp;
    if (maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestamp;
      this.offsetOfMaxTimestampSoFar = lastOffset;
    }
    // An index can be full only for a segment written under a larger segment.index.bytes and
    // rebuilt now; its lookups then just start further back.
    if (this.bytesSinceLastIndexEntry > this.config.indexIntervalBytes && !this.offsetIndex.isFull() && !this.timeIndex.isFull()) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batchSize;
    this.size += batchSize;
    this.nextOffset = lastOffset + 1;
    return position;
  }

  /** Kafka's roll rule: full by bytes or index, old by segment.ms, or offsets too far for 32 bits. */
  shouldRoll(batchSize: number, lastOffset: number, maxTimestamp: number, now: number): boolean {
    if (this.size === 0) return false;
    if (this.size + batchSize > this.config.segmentBytes) return true;
    if (this.offsetIndex.isFull() || this.timeIndex.isFull()) return true;
    if (lastOffset - this.baseOffset > INT32_MAX) return true;
    const waited = this.rollingBasedTimestamp >= 0 ? maxTimestamp - this.rollingBasedTimestamp : now - this.created;
    return waited > this.config.segmentMs;
  }

  markWritten(bytes: number): void {
    this.writtenSize += bytes;
    this.log.dirty = true;
  }

  /** Kafka's onBecomeInactiveSegment: a last time index entry so the index covers every batch. */
  onBecomeInactive(): void {
    if (this.maxTimestampSoFar >= 0) this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
  }

  /** Largest record timestamp in the segment (file mtime when it has no timestamp), for retention. */
  async largestTimestamp(): Promise<number> {
    await this.ensureIndexes();
    const fromIndex = Math.max(this.maxTimestampSoFar, this.timeIndex.lastEntry().timestamp);
    return fromIndex >= 0 ? fromIndex : this.mtimeMs;
  }

  /** Loads a lazily opened segment's indexes, rebuilding them from the log if they fail the check. */
  async ensureIndexes(): Promise<void> {
    if (this.indexesLoaded) return;
    this.indexesLoading ??= (async () => {
      const ok = (await this.offsetIndex.load()) && (await this.timeIndex.load()) && this.indexesWithinFile();
      if (!ok) {
        // Rebuild without truncating: this segment is below the recovery point, bytes after a bad
        // batch are not ours to cut here. Reads stop at the bad batch and report it.
        await this.rebuildIndexes(false);
      }
      this.indexesLoaded = true;
    })();
    await this.indexesLoading;
  }

  private indexesWithinFile(): boolean {
    const last = this.offsetIndex.lastEntry();
    return last.position < Math.max(1, this.writtenSize) && this.timeIndex.lastEntry().offset >= this.baseOffset;
  }

  /**
   * Batches from the one holding `startOffset`, within `maxBytes` (the first batch counts even if
   * larger when `minOneBatch`). Reads from the offset index's floor position: at most about
   * index.interval.bytes are skipped, never the segment from its start.
   */
  async read(startOffset: number, maxBytes: number, minOneBatch: boolean): Promise<SegmentReadResult> {
    await this.ensureIndexes();
    const end = this.writtenSize;
    const from = this.offsetIndex.lookup(startOffset).position;
    const batches: ScannedBatch[] = [];
    let bytes = 0;
    if (from >= end) return { batches, bytes, stop: 'end' };
    const chunk = Math.min(Math.max(maxBytes, 16_384) + this.config.indexIntervalBytes, SCAN_CHUNK * 8);
    const result = await this.log.use((fd) =>
      scanBatches(this.ops, fd, from, end, chunk, (batch) => {
        if (batch.header.lastOffset < startOffset) return true;
        const size = batch.header.sizeInBytes;
        if ((batches.length > 0 || !minOneBatch) && bytes + size > maxBytes) return false;
        batches.push(batch);
        bytes += size;
        return true;
      }),
    );
    return { batches, bytes, stop: result.stop };
  }

  /**
   * The first record at or after `timestamp` with an offset in [startOffset, upTo), as Kafka's
   * ListOffsets: the time index gives where to start, batches whose max timestamp is older are
   * skipped without decoding.
   */
  async findOffsetByTimestamp(timestamp: number, startOffset: number, upTo: number): Promise<{ offset: number; timestamp: number } | undefined> {
    await this.ensureIndexes();
    if (upTo <= startOffset) return undefined;
    const before = this.timeIndex.lookupBefore(timestamp);
    // Clamped below upTo: index entries may describe bytes still queued (see the class comment).
    const fromOffset = Math.min(Math.max(before.offset, startOffset), upTo - 1);
    const from = this.offsetIndex.lookup(fromOffset).position;
    let found: { offset: number; timestamp: number } | undefined;
    await this.log.use((fd) =>
      scanBatches(this.ops, fd, from, this.writtenSize, SCAN_CHUNK, (batch) => {
        const header = batch.header;
        if (header.baseOffset >= upTo) return false;
        if (header.lastOffset < startOffset || header.maxTimestamp < timestamp) return true;
        for (const record of decodeRecords(batch.buf, batch.pos)) {
          if (record.offset >= startOffset && record.offset < upTo && record.timestamp >= timestamp) {
            found = { offset: record.offset, timestamp: record.timestamp };
            return false;
          }
        }
        return true;
      }),
    );
    return found;
  }

  /**
   * Crash recovery: reads every batch from the start, checks structure, CRC and offset order,
   * rebuilds both indexes, and cuts the file at the first batch that fails (a torn or corrupt tail).
   */
  async recover(): Promise<SegmentRecovery> {
    const result = await this.rebuildIndexes(true);
    this.indexesLoaded = true;
    return result;
  }

  private async rebuildIndexes(truncate: boolean): Promise<SegmentRecovery> {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.size = 0;
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestampSoFar = -1;
    this.rollingBasedTimestamp = -1;
    this.nextOffset = this.baseOffset;
    const fileSize = this.writtenSize;
    let batches = 0;
    const result = await this.log.use((fd) =>
      scanBatches(this.ops, fd, 0, fileSize, SCAN_CHUNK, (batch) => {
        const h = batch.header;
        if (h.baseOffset < this.nextOffset || h.lastOffsetDelta < 0 || h.recordCount < 0) return false;
        if (h.lastOffset - this.baseOffset > INT32_MAX || !isBatchCrcValid(batch.buf, batch.pos)) return false;
        this.append(h.sizeInBytes, h.lastOffset, h.maxTimestamp);
        batches++;
        return true;
      }),
    );
    this.writtenSize = this.size;
    const truncatedBytes = fileSize - result.position;
    if (truncate && truncatedBytes > 0) {
      await this.log.truncate(result.position);
    }
    await this.offsetIndex.persist(false);
    await this.timeIndex.persist(false);
    return { validBytes: result.position, truncatedBytes, batches, bytesRead: result.bytesRead, stop: result.stop };
  }

  /**
   * After a clean shutdown the active segment's indexes are trusted: the log end comes from the last
   * offset index entry plus a scan of the bytes after it, at most about index.interval.bytes.
   * Falls back to a full recovery if the indexes fail their check or the tail is not whole.
   */
  async loadActiveAfterCleanShutdown(): Promise<{ bytesRead: number; recovered: SegmentRecovery | undefined }> {
    const ok = (await this.offsetIndex.load()) && (await this.timeIndex.load()) && this.indexesWithinFile();
    this.indexesLoaded = true;
    if (!ok) return { bytesRead: 0, recovered: await this.recover() };
    const last = this.offsetIndex.lastEntry();
    const lastTime = this.timeIndex.lastEntry();
    this.maxTimestampSoFar = lastTime.timestamp;
    this.offsetOfMaxTimestampSoFar = lastTime.offset;
    this.nextOffset = this.offsetIndex.entryCount > 0 ? last.offset + 1 : this.baseOffset;
    let first = true;
    const result = await this.log.use((fd) =>
      scanBatches(this.ops, fd, last.position, this.writtenSize, SCAN_CHUNK, (batch) => {
        const h = batch.header;
        if (first && last.position === 0) this.rollingBasedTimestamp = h.maxTimestamp;
        first = false;
        if (h.maxTimestamp > this.maxTimestampSoFar) {
          this.maxTimestampSoFar = h.maxTimestamp;
          this.offsetOfMaxTimestampSoFar = h.lastOffset;
        }
        this.nextOffset = h.lastOffset + 1;
        return true;
      }),
    );
    if (result.stop !== 'end') return { bytesRead: result.bytesRead, recovered: await this.recover() };
    this.bytesSinceLastIndexEntry = this.size - last.position;
    return { bytesRead: result.bytesRead, recovered: undefined };
  }

  /** Cuts the segment before the batch holding `offset` (whole batches only, as Kafka). */
  async truncateTo(offset: number): Promise<number> {
    await this.ensureIndexes();
    let cut = this.writtenSize;
    await this.log.use((fd) =>
      scanBatches(this.ops, fd, this.offsetIndex.lookup(offset).position, this.writtenSize, SCAN_CHUNK, (batch) => {
        if (batch.header.lastOffset < offset) return true;
        cut = batch.filePosition;
        return false;
      }),
    );
    const removed = this.writtenSize - cut;
    if (removed === 0) return 0;
    await this.log.truncate(cut);
    this.writtenSize = cut;
    // Recomputing from the remaining bytes keeps the index and timestamp invariants simple.
    await this.rebuildIndexes(false);
    return removed;
  }

  /** fdatasync of the log (if written since the last one) and the indexes written and synced. */
  async flush(): Promise<void> {
    await this.log.sync();
    await this.offsetIndex.persist(true);
    await this.timeIndex.persist(true);
  }

  /** fdatasync of the log only: what group commit needs (indexes are rebuilt after a crash). */
  syncLog(): Promise<void> {
    return this.log.sync();
  }

  /** Persists the indexes (without fsync unless asked) and closes the file. */
  async close(syncIndexes: boolean): Promise<void> {
    if (this.indexesLoaded) {
      await this.offsetIndex.persist(syncIndexes);
      await this.timeIndex.persist(syncIndexes);
    }
    await this.log.close();
  }

  /** Removes the files; a read in flight finishes on its open descriptor (see FileRecords). */
  async delete(): Promise<void> {
    await this.log.delete();
    await fsp.rm(this.offsetIndex.file, { force: true });
    await fsp.rm(this.timeIndex.file, { force: true });
  }
}
