/** Places past which the queue is trimmed of the places already taken. */
const TRIM_AT = 1024;

/**
 * The key table's keys in creation order, so that the oldest can be evicted without walking the
 * table's Map from its front: a Map iterator passes every deleted slot there, and a full table
 * deletes one key per new one (about 40 us a new key at 200,000 keys, measured, where this takes
 * well under one).
 *
 * Each key is queued with its creation time, and a place counts only while the table holds the key
 * with that time (`createdAtOf`): a key removed and created again is taken at its new place, its
 * old one is skipped. Invariant: every live key has a place at its creation time; the queue holds
 * at most 2 * bound + TRIM_AT places, past which it is rebuilt from the live keys (`live`, oldest
 * first), so keys removed otherwise than by eviction (expired, released) cannot pile up in it.
 */
export class EvictionOrder {
  private keys: string[] = [];
  private times: number[] = [];
  private head = 0;

  constructor(
    /** The creation time of the key the table holds now; undefined for a key it does not hold. */
    private readonly createdAtOf: (key: string) => number | undefined,
    /** The table's live keys, oldest first. */
    private readonly live: () => Iterable<string>,
    private readonly bound: number,
  ) {}

  add(key: string, createdAt: number): void {
    this.keys.push(key);
    this.times.push(createdAt);
    if (this.keys.length - this.head > 2 * this.bound + TRIM_AT) this.rebuild();
  }

  /** The oldest live key, taken off the queue (add it again to keep it); undefined when none is left. */
  next(): string | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head];
      const live = this.createdAtOf(key) === this.times[this.head];
      this.head++;
      if (live) {
        this.trim();
        return key;
      }
    }
    this.trim();
    return undefined;
  }

  get size(): number {
    return this.keys.length - this.head;
  }

  private trim(): void {
    if (this.head < TRIM_AT || this.head * 2 < this.keys.length) return;
    this.keys = this.keys.slice(this.head);
    this.times = this.times.slice(this.head);
    this.head = 0;
  }

  private rebuild(): void {
    this.keys = [];
    this.times = [];
    this.head = 0;
    for (const key of this.live()) {
      this.keys.push(key);
      this.times.push(this.createdAtOf(key)!);
    }
  }
}
