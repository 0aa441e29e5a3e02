import { AbstractIndex } from './abstract-index';

export interface OffsetPosition {
  offset: number;
  position: number;
}

const ENTRY_SIZE = 8;

/**
 * Kafka's offset index: a sparse map from offsets to byte positions in one segment's .log file.
 * On disk each entry is 8 bytes, big-endian: a 4-byte offset relative to the segment's base offset
 * and a 4-byte file position. An entry (o, p) says the batch whose last offset is o starts at p, so
 * a reader looking for offset t starts at the floor entry of t and scans forward at most
 * `index.interval.bytes` plus one batch. Entries are added at most every `index.interval.bytes`
 * of log; offsets and positions strictly increase. In the event of a crash it is rebuilt.
 */
export class OffsetIndex extends AbstractIndex {
  constructor(file: string, baseOffset: number, maxIndexSize: number) {
    super(file, baseOffset, maxIndexSize, ENTRY_SIZE);
  }

  protected keyAt(slot: number): number {
    return this.baseOffset + this.buf.readInt32BE(slot * ENTRY_SIZE);
  }

  private positionAt(slot: number): number {
    return this.buf.readInt32BE(slot * ENTRY_SIZE + 4);
  }

  /** Callers append in increasing offset and position order and check isFull() first. */
  append(offset: number, position: number): void {
    const at = this.nextSlotPosition();
    this.buf.writeInt32BE(offset - this.baseOffset, at);
    this.buf.writeInt32BE(position, at + 4);
  }

  /** The entry with the largest offset <= target, or (baseOffset, 0) when there is none. */
  lookup(targetOffset: number): OffsetPosition {
    const slot = this.largestLowerBoundSlot(targetOffset, false);
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.keyAt(slot), position: this.positionAt(slot) };
  }

  lastEntry(): OffsetPosition {
    if (this.entries === 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.keyAt(this.entries - 1), position: this.positionAt(this.entries - 1) };
  }

  /** Drops entries for offsets >= `offset` (their batches are being cut from the log). */
  truncateTo(offset: number): void {
    this.truncateToEntries(this.largestLowerBoundSlot(offset, true) + 1);
  }

  /** Drops entries pointing at or past `position` in the log. */
  truncateToPosition(position: number): void {
    let keep = this.entries;
    while (keep > 0 && this.positionAt(keep - 1) >= position) keep--;
    this.truncateToEntries(keep);
  }

  protected isSane(): boolean {
    let lastOffset = -1;
    let lastPosition = -1;
    for (let slot = 0; slot < this.entries; slot++) {
      const relative = this.buf.readInt32BE(slot * ENTRY_SIZE);
      const position = this.positionAt(slot);
      if (relative <= lastOffset || position <= lastPosition) return false;
      lastOffset = relative;
      lastPosition = position;
    }
    return true;
  }
}
