const FIRST_CAPACITY = 16;
/** A slot no id holds: ids are never negative. */
const EMPTY = -1;
const TWO_32 = 2 ** 32;

/**
 * Caller-derived producer ids (2^52 and up, see keyedProducerId) to small non-negative integers:
 * the key table's set of claimed ids and a partition's caller producers' slots
 * (producer-state-callers.ts). Up to 250,000 of them live for the key window, so this is an open
 * addressing table in one typed array (each id beside its value) with linear probing, not a Map: one
 * lookup is one or two cache lines and no hashing of a heap number, and garbage collection has
 * no entry to visit (measured against a Map of the ids' low 30 bits: see bench/RESULTS.md,
 * Idempotency keys, fifth session).
 *
 * Invariants: every held id is in the run of occupied slots that starts at its home slot
 * (`home`), no empty slot between; at most half the slots are occupied (the table doubles
 * before); removal shifts later ids of the run back (no tombstones), so a lookup stops at the
 * first empty slot. Exact: ids are compared whole.
 */
export class ProducerIdIndex {
  /** Slot i: the id at 2i, its value at 2i + 1 (one cache line for both). */
  private table = emptyTable(FIRST_CAPACITY);
  private mask = FIRST_CAPACITY - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The id's value, or -1 when it is not held. */
  get(producerId: number): number {
    const table = this.table;
    for (let i = this.home(producerId); ; i = (i + 1) & this.mask) {
      const id = table[2 * i];
      if (id === producerId) return table[2 * i + 1];
      if (id === EMPTY) return -1;
    }
  }

  /** Holds the id with `value` (>= 0), in place of any value it had. */
  set(producerId: number, value: number): void {
    const table = this.table;
    let i = this.home(producerId);
    for (; table[2 * i] !== EMPTY; i = (i + 1) & this.mask) {
      if (table[2 * i] === producerId) {
        table[2 * i + 1] = value;
        return;
      }
    }
    table[2 * i] = producerId;
    table[2 * i + 1] = value;
    if (++this.count * 2 > this.mask + 1) this.grow();
  }

  /** Forgets the id if it has `value` (another value means another holder: it stays). */
  delete(producerId: number, value: number): void {
    const table = this.table;
    const mask = this.mask;
    let hole = this.home(producerId);
    for (; table[2 * hole] !== producerId; hole = (hole + 1) & mask) if (table[2 * hole] === EMPTY) return;
    if (table[2 * hole + 1] !== value) return;
    this.count--;
    // Shift back each later id of the run whose home is not between the hole and it (cyclically).
    for (let j = (hole + 1) & mask; table[2 * j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(table[2 * j]);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      table[2 * hole] = table[2 * j];
      table[2 * hole + 1] = table[2 * j + 1];
      hole = j;
    }
    table[2 * hole] = EMPTY;
  }

  clear(): void {
    this.table = emptyTable(FIRST_CAPACITY);
    this.mask = FIRST_CAPACITY - 1;
    this.count = 0;
  }

  /** Mixes both halves of the id, so ids that differ in any bits spread (they need not be hashes). */
  private home(producerId: number): number {
    const low = producerId >>> 0;
    const high = (producerId / TWO_32) >>> 0;
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  private grow(): void {
    const old = this.table;
    const capacity = old.length; // twice the old slot count
    this.table = emptyTable(capacity);
    this.mask = capacity - 1;
    const table = this.table;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === EMPTY) continue;
      let j = this.home(old[i]);
      while (table[2 * j] !== EMPTY) j = (j + 1) & this.mask;
      table[2 * j] = old[i];
      table[2 * j + 1] = old[i + 1];
    }
  }
}

function emptyTable(capacity: number): Float64Array {
  const table = new Float64Array(2 * capacity);
  for (let i = 0; i < table.length; i += 2) table[i] = EMPTY;
  return table;
}
