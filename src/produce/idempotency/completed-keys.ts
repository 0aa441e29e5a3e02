import type { KeyEntry } from './idempotency-key-store';

const DIGEST_BYTES = 32;
const FIRST_CAPACITY = 64;
const ASYNC = 1;
const NO_PRODUCER_ID = 2;

/**
 * What the key table keeps of a key whose request succeeded, when that is a fingerprint of 32
 * bytes (requestFingerprint's SHA-256, one latin1 char per byte) and one run of outcomes (one
 * partition, consecutive offsets, one timestamp: every single-record request): in slots of typed
 * arrays (the digest's 32 bytes, creation time, producer id, partition, first offset, count,
 * timestamp, flags) instead of an entry object, its fingerprint string and its outcome array. Up
 * to 200,000 keys live for the key window: objects that old are paid again by every major
 * collection, a slot is not. A slot is read back as a KeyEntry (`entry`), a copy: such a key is
 * only read (a repeat is answered from it).
 *
 * Invariant: a slot is either on the free list or holds one key; the table never shrinks.
 */
export class CompletedKeys {
  private capacity = 0;
  private digests = new Uint8Array(0);
  private digestBuffer = Buffer.alloc(0);
  private createdAts = new Float64Array(0);
  private producerIds = new Float64Array(0);
  private partitions = new Int32Array(0);
  private offsets = new Float64Array(0);
  private counts = new Int32Array(0);
  private timestamps = new Float64Array(0);
  private flags = new Uint8Array(0);
  private free: number[] = [];

  /** True when `entry` (succeeded) fits a slot. */
  static fits(entry: KeyEntry): boolean {
    return entry.outcomeRuns !== undefined && entry.outcomeRuns.length === 4 && entry.fingerprint.length === DIGEST_BYTES;
  }

  /** Stores a succeeded entry that `fits`; returns its slot. */
  add(entry: KeyEntry): number {
    if (this.free.length === 0) this.grow();
    const slot = this.free.pop()!;
    this.digestBuffer.write(entry.fingerprint, slot * DIGEST_BYTES, DIGEST_BYTES, 'latin1');
    this.createdAts[slot] = entry.createdAt;
    this.producerIds[slot] = entry.producerId ?? -1;
    const runs = entry.outcomeRuns!;
    this.partitions[slot] = runs[0];
    this.offsets[slot] = runs[1];
    this.counts[slot] = runs[2];
    this.timestamps[slot] = runs[3];
    this.flags[slot] = (entry.async ? ASYNC : 0) | (entry.producerId === undefined ? NO_PRODUCER_ID : 0);
    return slot;
  }

  /** The key's entry, as a copy. */
  entry(slot: number, key: string): KeyEntry {
    const entry: KeyEntry = {
      key,
      fingerprint: this.digestBuffer.toString('latin1', slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES),
      createdAt: this.createdAts[slot],
      async: this.isAsync(slot),
      outcomeRuns: [this.partitions[slot], this.offsets[slot], this.counts[slot], this.timestamps[slot]],
    };
    const producerId = this.producerId(slot);
    if (producerId !== undefined) entry.producerId = producerId;
    return entry;
  }

  createdAt(slot: number): number {
    return this.createdAts[slot];
  }

  isAsync(slot: number): boolean {
    return (this.flags[slot] & ASYNC) !== 0;
  }

  producerId(slot: number): number | undefined {
    return (this.flags[slot] & NO_PRODUCER_ID) !== 0 ? undefined : this.producerIds[slot];
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  private grow(): void {
    const old = this.capacity;
    const capacity = Math.max(FIRST_CAPACITY, old * 2);
    this.digests = copied(this.digests, new Uint8Array(capacity * DIGEST_BYTES));
    this.digestBuffer = Buffer.from(this.digests.buffer, this.digests.byteOffset, this.digests.byteLength);
    this.createdAts = copied(this.createdAts, new Float64Array(capacity));
    this.producerIds = copied(this.producerIds, new Float64Array(capacity));
    this.partitions = copied(this.partitions, new Int32Array(capacity));
    this.offsets = copied(this.offsets, new Float64Array(capacity));
    this.counts = copied(this.counts, new Int32Array(capacity));
    this.timestamps = copied(this.timestamps, new Float64Array(capacity));
    this.flags = copied(this.flags, new Uint8Array(capacity));
    this.capacity = capacity;
    // lowest slots handed out first
    for (let slot = capacity - 1; slot >= old; slot--) this.free.push(slot);
  }
}

function copied<T extends Uint8Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
