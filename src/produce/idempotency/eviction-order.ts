/** Places past which the queue is trimmed of the places already taken. */
const TRIM_AT = 1024;

/**
 * The key table's keys in creation order, as handles of its KeyTable (key-table.ts), so that the
 * oldest can be evicted, and the expired ones found, from the front of a queue: the table has no
 * order of its own.
 *
 * Each handle is queued with the serial of the key it held then, and a place counts only while the
 * handle still holds that key (`serialOf`): a key removed is skipped, one created again is taken at
 * its new place. Invariant: every live key has one place, in creation order except for keys put
 * back after they were taken (a running request's, see IdempotencyKeyStore.evict), which are at
 * the back; the queue holds at most 2 * bound + TRIM_AT places, past which it is rebuilt from its
 * live places, so keys removed otherwise than by eviction (expired, released) cannot pile up in it.
 */
export class EvictionOrder {
  private handles: number[] = [];
  private serials: number[] = [];
  private head = 0;

  constructor(
    /** The serial of the key the handle holds now; -1 for a handle that holds none. */
    private readonly serialOf: (handle: number) => number,
    private readonly bound: number,
  ) {}

  add(handle: number, serial: number): void {
    this.handles.push(handle);
    this.serials.push(serial);
    if (this.handles.length - this.head > 2 * this.bound + TRIM_AT) this.rebuild();
  }

  /** The oldest live key's handle, left in place; -1 when none is left. */
  peek(): number {
    while (this.head < this.handles.length) {
      const handle = this.handles[this.head];
      if (this.serialOf(handle) === this.serials[this.head]) return handle;
      this.head++;
    }
    this.trim();
    return -1;
  }

  /** The oldest live key's handle, taken off the queue (add it again to keep it); -1 when none is left. */
  next(): number {
    const handle = this.peek();
    if (handle !== -1) {
      this.head++;
      this.trim();
    }
    return handle;
  }

  get size(): number {
    return this.handles.length - this.head;
  }

  private trim(): void {
    if (this.head < TRIM_AT || this.head * 2 < this.handles.length) return;
    this.handles = this.handles.slice(this.head);
    this.serials = this.serials.slice(this.head);
    this.head = 0;
  }

  private rebuild(): void {
    const handles: number[] = [];
    const serials: number[] = [];
    for (let i = this.head; i < this.handles.length; i++) {
      if (this.serialOf(this.handles[i]) !== this.serials[i]) continue;
      handles.push(this.handles[i]);
      serials.push(this.serials[i]);
    }
    this.handles = handles;
    this.serials = serials;
    this.head = 0;
  }
}
