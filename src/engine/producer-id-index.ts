/** 2^30: ids' low bits below it are small integers, which a Map hashes and holds without allocating. */
const LOW_BITS = 2 ** 30;

/**
 * Entries by a caller-derived producer id (2^52 and up, see keyedProducerId): the key table's
 * entries (objects, or slots of completed-keys.ts) and a partition's caller producers (slots of
 * producer-state-callers.ts). Indexed by the id's low 30 bits: a Map costs about half as much per operation with small-integer keys as with numbers of that range
 * (measured, 200,000 entries). The few entries whose low bits an entry of another id already holds
 * go to a second map keyed by the whole id. Exact: a lookup compares the whole id.
 */
export class ProducerIdIndex<T> {
  private readonly byLowBits = new Map<number, T>();
  private readonly overflow = new Map<number, T>();

  /** `idOf`: the producer id an entry was indexed with. */
  constructor(private readonly idOf: (entry: T) => number | undefined) {}

  get(producerId: number): T | undefined {
    const entry = this.byLowBits.get(producerId % LOW_BITS);
    if (entry !== undefined && this.idOf(entry) === producerId) return entry;
    return this.overflow.size === 0 ? undefined : this.overflow.get(producerId);
  }

  /** `idOf(entry)` must be `producerId`, and no other entry indexed with it. */
  set(producerId: number, entry: T): void {
    const low = producerId % LOW_BITS;
    const holder = this.byLowBits.get(low);
    if (holder === undefined || holder === entry) this.byLowBits.set(low, entry);
    else this.overflow.set(producerId, entry);
  }

  delete(producerId: number, entry: T): void {
    const low = producerId % LOW_BITS;
    if (this.byLowBits.get(low) === entry) this.byLowBits.delete(low);
    else if (this.overflow.get(producerId) === entry) this.overflow.delete(producerId);
  }

  clear(): void {
    this.byLowBits.clear();
    this.overflow.clear();
  }
}
