import { ProducerIdIndex } from '../../engine/producer-id-index';

/**
 * The key table's keys and what it holds for each, found by a number derived from the key (its
 * keyed producer id: a new key's request has it from the one SHA-256 it takes anyway) in a
 * ProducerIdIndex rather than by the key string in a Map: a lookup among up to maxKeys keys is
 * one probe of a typed array, no hashing of the key string and no walk of a Map's chains, and
 * there is no Map backing store of 200,000 entries for every major collection to mark (measured: a
 * new key's get, set, replace and the eviction of the oldest, 1.25-1.30 us at 200,000 keys in a
 * Map against 0.47-0.56 in the index). Each key has a handle (a small integer, reused after
 * removal) and a serial (never reused), so an order of handles can tell a removed key's place from
 * that of the key added under its handle since (eviction-order.ts).
 *
 * Invariants: a key is held at most once. A held key is in `index` under its id, unless another
 * held key had that id when it was added (two keys, one id: a collision of keyedProducerId); then
 * it is in `collided` under its key string. Either way its handle keeps the key, and a lookup
 * compares it: a key is never taken for another one with the same id.
 */
export class KeyTable<V> {
  private readonly index = new ProducerIdIndex();
  private readonly collided = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly values: Array<V | undefined> = [];
  private readonly ids: number[] = [];
  /** A free handle's serial is -1. */
  private readonly serials: number[] = [];
  private readonly free: number[] = [];
  private nextSerial = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The handle of `key` (`id`: its id), or -1 when it is not held. */
  find(key: string, id: number): number {
    const handle = this.index.get(id);
    if (handle !== -1 && this.keys[handle] === key) return handle;
    return this.collided.size === 0 ? -1 : (this.collided.get(key) ?? -1);
  }

  /** The handle of the key the index holds under `id` (the first held key with that id), or -1. */
  indexed(id: number): number {
    return this.index.get(id);
  }

  /** Holds `key`, which must not be held yet (`find` said -1); returns its handle. */
  add(key: string, id: number, value: V): number {
    const handle = this.free.pop() ?? this.keys.length;
    this.keys[handle] = key;
    this.values[handle] = value;
    this.ids[handle] = id;
    this.serials[handle] = this.nextSerial++;
    if (this.index.get(id) === -1) this.index.set(id, handle);
    else this.collided.set(key, handle);
    this.count++;
    return handle;
  }

  remove(handle: number): void {
    const key = this.keys[handle];
    this.index.delete(this.ids[handle], handle); // a no-op for a collided key: the id is another handle's
    if (this.collided.size > 0 && this.collided.get(key) === handle) this.collided.delete(key);
    this.keys[handle] = '';
    this.values[handle] = undefined;
    this.serials[handle] = -1;
    this.free.push(handle);
    this.count--;
  }

  key(handle: number): string {
    return this.keys[handle];
  }

  value(handle: number): V | undefined {
    return this.values[handle];
  }

  set(handle: number, value: V): void {
    this.values[handle] = value;
  }

  /** The serial of the key the handle holds now; -1 for a free handle. */
  serial(handle: number): number {
    return this.serials[handle];
  }

  /** The held keys' handles, in no particular order. */
  *handles(): IterableIterator<number> {
    for (let handle = 0; handle < this.serials.length; handle++) if (this.serials[handle] !== -1) yield handle;
  }
}
