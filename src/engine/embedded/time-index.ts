import { AbstractIndex } from './abstract-index';

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

const ENTRY_SIZE = 12;
const TWO_32 = 0x1_0000_0000;

/**
 * Kafka's time index: a sparse map from timestamps to offsets in one segment. On disk each entry is
 * 12 bytes, big-endian: an 8-byte timestamp and a 4-byte offset relative to the segment's base
 * offset. An entry (T, o) says: T is the largest timestamp of any record at or before offset o in
 * this segment. Entries are added beside offset index entries, only when the largest timestamp has
 * grown, so timestamps and offsets strictly increase. In the event of a crash it is rebuilt.
 */
export class TimeIndex extends AbstractIndex {
  constructor(file: string, baseOffset: number, maxIndexSize: number) {
    super(file, baseOffset, maxIndexSize, ENTRY_SIZE);
  }

  protected keyAt(slot: number): number {
    const at = slot * ENTRY_SIZE;
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
  }

  private offsetAt(slot: number): number {
    return this.baseOffset + this.buf.readInt32BE(slot * ENTRY_SIZE + 8);
  }

  /** Adds (timestamp, offset) if the timestamp is larger than the last entry's. */
  maybeAppend(timestamp: number, offset: number): void {
    if (this.entries > 0 && timestamp <= this.keyAt(this.entries - 1)) return;
    const at = this.nextSlotPosition();
    const high = Math.floor(timestamp / TWO_32);
    this.buf.writeInt32BE(high, at);
    this.buf.writeUInt32BE(timestamp - high * TWO_32, at + 4);
    this.buf.writeInt32BE(offset - this.baseOffset, at + 8);
  }

  /**
   * The entry with the largest timestamp strictly below `timestamp`, or (-1, baseOffset) if none.
   * Every record at or before its offset is older than `timestamp`, so the first record at or after
   * `timestamp` lies after it: a search may start there. (With <= it could skip an earlier record
   * carrying exactly `timestamp`.)
   */
  lookupBefore(timestamp: number): TimestampOffset {
    const slot = this.largestLowerBoundSlot(timestamp, true);
    if (slot < 0) return { timestamp: -1, offset: this.baseOffset };
    return { timestamp: this.keyAt(slot), offset: this.offsetAt(slot) };
  }

  lastEntry(): TimestampOffset {
    if (this.entries === 0) return { timestamp: -1, offset: this.baseOffset };
    return { timestamp: this.keyAt(this.entries - 1), offset: this.offsetAt(this.entries - 1) };
  }

  /** Drops entries for offsets >= `offset`. */
  truncateTo(offset: number): void {
    let keep = this.entries;
    while (keep > 0 && this.offsetAt(keep - 1) >= offset) keep--;
    this.truncateToEntries(keep);
  }

  protected isSane(): boolean {
    let lastTimestamp = -Infinity;
    let lastOffset = -1;
    for (let slot = 0; slot < this.entries; slot++) {
      const timestamp = this.keyAt(slot);
      const relative = this.buf.readInt32BE(slot * ENTRY_SIZE + 8);
      if (timestamp <= lastTimestamp || relative <= lastOffset) return false;
      lastTimestamp = timestamp;
      lastOffset = relative;
    }
    return true;
  }
}
