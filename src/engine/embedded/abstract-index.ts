import { promises as fsp } from 'node:fs';

/**
 * What the offset index and the time index share: fixed-size entries sorted by key, held in memory
 * (lookups never touch the disk) and mirrored to a file that only ever grows by appending, except
 * when recovery truncates it. Entries are persisted lazily (on segment roll, flush and close): an
 * index is only trusted after a clean shutdown or for segments below the recovery point, and both
 * imply a persist; every other index is rebuilt from its log after a crash.
 *
 * Invariant: entries [0, persistedEntries) are on disk exactly as in memory.
 */
export abstract class AbstractIndex {
  protected buf: Buffer;
  protected entries = 0;
  private persistedEntries = 0;
  /** The file may hold entries past `entries` (after a truncation) until the next persist. */
  private fileNeedsTruncate = false;
  readonly maxEntries: number;

  protected constructor(
    readonly file: string,
    readonly baseOffset: number,
    maxIndexSize: number,
    protected readonly entrySize: number,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexSize / entrySize));
    this.buf = Buffer.alloc(Math.min(this.maxEntries, 64) * entrySize);
  }

  get entryCount(): number {
    return this.entries;
  }

  isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  sizeInBytes(): number {
    return this.entries * this.entrySize;
  }

  /** The key entry `slot` is sorted by (offset or timestamp). */
  protected abstract keyAt(slot: number): number;

  /**
   * One entry beyond maxEntries is allowed: the final time index entry a segment gets when it
   * becomes inactive is added even to a full index, as Kafka does.
   */
  private capacityBytes(): number {
    return (this.maxEntries + 1) * this.entrySize;
  }

  /** Reserves the next entry and returns its byte position in `buf`. */
  protected nextSlotPosition(): number {
    const needed = (this.entries + 1) * this.entrySize;
    if (needed > this.buf.length) {
      const grown = Buffer.alloc(Math.min(this.capacityBytes(), Math.max(needed, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.entries * this.entrySize);
      this.buf = grown;
    }
    return this.entries++ * this.entrySize;
  }

  /**
   * Binary search: the last slot whose key is <= target (or < target when `strict`), -1 if none.
   * Keys are non-decreasing, which the subclasses' append rules guarantee.
   */
  protected largestLowerBoundSlot(target: number, strict: boolean): number {
    let lo = 0;
    let hi = this.entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.keyAt(mid);
      if (key < target || (!strict && key === target)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Keeps only the first `count` entries. */
  protected truncateToEntries(count: number): void {
    if (count >= this.entries) return;
    this.entries = count;
    if (this.persistedEntries > count) {
      this.persistedEntries = count;
      this.fileNeedsTruncate = true;
    }
  }

  reset(): void {
    this.truncateToEntries(0);
    this.fileNeedsTruncate = true;
  }

  /** Appends the entries not yet on disk (and cuts the file after a truncation); fsyncs if asked. */
  async persist(fsync: boolean): Promise<void> {
    const upTo = this.entries;
    const from = this.persistedEntries;
    if (from === upTo && !this.fileNeedsTruncate && !fsync) return;
    const handle = await fsp.open(this.file, 'a+');
    try {
      if (this.fileNeedsTruncate) {
        await handle.truncate(from * this.entrySize);
        this.fileNeedsTruncate = false;
      }
      if (upTo > from) {
        await handle.write(this.buf, from * this.entrySize, (upTo - from) * this.entrySize, from * this.entrySize);
      }
      if (fsync) await handle.datasync();
      this.persistedEntries = Math.max(this.persistedEntries, upTo);
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads the file into memory. Returns false (and leaves the index empty) when the file is absent
   * or fails the sanity check: the caller then rebuilds the index from the log.
   */
  async load(): Promise<boolean> {
    let data: Buffer;
    try {
      data = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (data.length % this.entrySize !== 0 || data.length > this.capacityBytes()) return false;
    this.buf = data.length === 0 ? Buffer.alloc(this.entrySize * 64) : data;
    this.entries = data.length / this.entrySize;
    this.persistedEntries = this.entries;
    if (!this.isSane()) {
      this.reset();
      return false;
    }
    return true;
  }

  /** Keys strictly increasing and every entry within the segment; see the subclasses. */
  protected abstract isSane(): boolean;

}
