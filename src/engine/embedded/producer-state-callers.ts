import { ProducerIdIndex } from '../producer-id-index';
import type { Acks, AppendResult } from '../storage-engine';
import type { BatchMetadata, ProducerStateEntry } from './producer-state-manager';

const FIRST_CAPACITY = 64;
/** `acks` of a slot whose batch was replayed or restored: nothing of this process to wait for. */
const NO_ACKS = -128;

/**
 * A partition's producers with caller-derived ids (one per Idempotency-Key), in the order they
 * were first seen. Almost all of them append one batch, at epoch 0: such a producer is a slot of a
 * ring of typed arrays (id, epoch, the batch's sequences, offsets and timestamp, last append time),
 * found through an index of ids (producer-id-index.ts: typed arrays, not a Map) to its slot, so that each one costs
 * no object of its own beyond its append's promise: up to 250,000 of them live for the key window,
 * and objects that old are paid again by every major collection. A producer that appends again,
 * changes epoch or is asked for as an entry (see `entry`) is "promoted": its slot keeps its place in
 * the order and refers to a full ProducerStateEntry.
 *
 * A slot keeps its append's promise (a retry waits for it) only until the append is written:
 * appends of a partition are written in offset order and a failed write fails every later one, so
 * once an append is written every slot whose batch ends at or below its last offset is too
 * (`writtenUpTo`). Its acks are forgotten with it, so an acks=all retry then waits for the fsync
 * itself (answerDuplicate).
 *
 * Invariants: slots head .. head + size - 1 (modulo capacity) hold producers oldest first; a slot
 * whose id is -1 was removed out of order and is skipped; `live` counts the others, each indexed
 * once in `slots` (ProducerIdIndex) under its id. Slot numbers change only when the ring grows, which re-indexes all.
 */
export class CallerProducers {
  private capacity = 0;
  private head = 0;
  private size = 0;
  private live = 0;
  private ids = new Float64Array(0);
  private epochs = new Int16Array(0);
  private firstSeqs = new Int32Array(0);
  private lastSeqs = new Int32Array(0);
  private firstOffsets = new Float64Array(0);
  private lastOffsets = new Float64Array(0);
  private timestamps = new Float64Array(0);
  private lastTimestamps = new Float64Array(0);
  private acks = new Int8Array(0);
  /** The append's promise of a batch this process appended, until the slot is reused. */
  private written: Array<Promise<AppendResult> | undefined> = [];
  private readonly promoted = new Map<number, ProducerStateEntry>();
  private readonly slots = new ProducerIdIndex();
  /**
   * The id of the last lookup that found nothing, until that id is placed: the append of a new
   * producer looks it up twice (check, then update), and a lookup in a Map this large is a cache miss.
   */
  private lastMiss = -1;
  /** [slot, lastOffset] of slots that hold an append's promise, in offset order, from `pendingHead`. */
  private pending: number[] = [];
  private pendingHead = 0;

  constructor(private readonly maxProducers: number) {}

  get count(): number {
    return this.live;
  }

  /** A copy of the producer's state, to read only (check); undefined if unknown. */
  peek(producerId: number): ProducerStateEntry | undefined {
    const slot = this.slotOf(producerId);
    return slot === -1 ? undefined : this.promoted.get(slot) ?? this.materialize(slot);
  }

  /** The producer's state as a live entry its caller may change (it is promoted); undefined if unknown. */
  entry(producerId: number): ProducerStateEntry | undefined {
    const slot = this.slotOf(producerId);
    return slot === -1 ? undefined : this.promote(slot);
  }

  /**
   * Records an appended batch (keeping a producer's last `retain`). A new producer gets the next
   * slot, once the oldest ones have gone past the bound or idle longer than `windowMs`.
   */
  update(producerId: number, producerEpoch: number, batch: BatchMetadata, appendTime: number, retain: number, windowMs: number): void {
    const slot = producerId === this.lastMiss ? -1 : this.slotOf(producerId);
    if (slot === -1) {
      this.makeRoom(appendTime, windowMs);
      this.place(producerId, producerEpoch, batch, appendTime);
      return;
    }
    const entry = this.promote(slot);
    if (producerEpoch !== entry.producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
    }
    entry.batches.push(batch);
    if (entry.batches.length > retain) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, appendTime);
  }

  /** Adds a producer as restored from a snapshot, after the ones added before (no bound applies). */
  restore(entry: ProducerStateEntry): void {
    const batch = entry.batches.length === 1 ? entry.batches[0] : undefined;
    if (batch !== undefined && batch.written === undefined) {
      this.place(entry.producerId, entry.producerEpoch, batch, entry.lastTimestamp);
      return;
    }
    this.place(entry.producerId, entry.producerEpoch, { firstSeq: -1, lastSeq: -1, firstOffset: -1, lastOffset: -1, timestamp: -1 }, entry.lastTimestamp);
    this.promoted.set(this.slotAt(this.size - 1), entry);
  }

  delete(producerId: number): void {
    const slot = this.slotOf(producerId);
    if (slot !== -1) this.remove(slot);
  }

  /** Removes the producers idle longer than `windowMs`; returns how many. */
  removeExpired(now: number, windowMs: number): number {
    let removed = 0;
    for (let i = 0; i < this.size; i++) {
      const slot = this.slotAt(i);
      if (this.ids[slot] === -1) continue;
      if (now - this.lastTimestampAt(slot) > windowMs) {
        this.remove(slot);
        removed++;
      }
    }
    this.dropRemovedHead();
    return removed;
  }

  /** Oldest first: each producer's state as an entry (copies for the unpromoted). */
  *entries(): IterableIterator<ProducerStateEntry> {
    for (let i = 0; i < this.size; i++) {
      const slot = this.slotAt(i);
      if (this.ids[slot] !== -1) yield this.promoted.get(slot) ?? this.materialize(slot);
    }
  }

  clear(): void {
    this.capacity = 0;
    this.head = 0;
    this.size = 0;
    this.live = 0;
    this.allocate(0);
    this.promoted.clear();
    this.slots.clear();
    this.resetPending();
  }

  private makeRoom(appendTime: number, windowMs: number): void {
    this.dropRemovedHead();
    while (this.size > 0) {
      const slot = this.head;
      if (this.live < this.maxProducers && appendTime - this.lastTimestampAt(slot) <= windowMs) break;
      this.remove(slot);
      this.dropRemovedHead();
    }
  }

  private lastTimestampAt(slot: number): number {
    return this.promoted.size === 0 ? this.lastTimestamps[slot] : this.promoted.get(slot)?.lastTimestamp ?? this.lastTimestamps[slot];
  }

  private place(producerId: number, producerEpoch: number, batch: BatchMetadata, lastTimestamp: number): void {
    if (this.size === this.capacity) this.grow();
    const slot = this.slotAt(this.size);
    this.size++;
    this.live++;
    this.ids[slot] = producerId;
    this.epochs[slot] = producerEpoch;
    this.firstSeqs[slot] = batch.firstSeq;
    this.lastSeqs[slot] = batch.lastSeq;
    this.firstOffsets[slot] = batch.firstOffset;
    this.lastOffsets[slot] = batch.lastOffset;
    this.timestamps[slot] = batch.timestamp;
    this.lastTimestamps[slot] = lastTimestamp;
    this.acks[slot] = batch.acks ?? NO_ACKS;
    this.written[slot] = batch.written;
    this.slots.set(producerId, slot);
    this.lastMiss = -1;
    if (batch.written !== undefined) this.pending.push(slot, batch.lastOffset);
  }

  /**
   * Drops the promises of the appends written up to `lastOffset` (class comment): called by the
   * partition once per write of its queue, rather than by a reaction on each append's promise.
   */
  writtenUpTo(lastOffset: number): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    let i = this.pendingHead;
    for (; i < pending.length && pending[i + 1] <= lastOffset; i += 2) {
      const slot = pending[i];
      if (this.lastOffsets[slot] !== pending[i + 1] || this.ids[slot] === -1) continue;
      this.written[slot] = undefined;
      this.acks[slot] = NO_ACKS;
    }
    if (i === pending.length) this.resetPending();
    else if (i > 1024) {
      pending.splice(0, i);
      this.pendingHead = 0;
    } else this.pendingHead = i;
  }

  /** Forgets the pending slots (their numbers change as the ring grows): they keep their promises until removed. */
  private resetPending(): void {
    this.pending = [];
    this.pendingHead = 0;
  }

  private materialize(slot: number): ProducerStateEntry {
    const batch: BatchMetadata = {
      firstSeq: this.firstSeqs[slot],
      lastSeq: this.lastSeqs[slot],
      firstOffset: this.firstOffsets[slot],
      lastOffset: this.lastOffsets[slot],
      timestamp: this.timestamps[slot],
    };
    const written = this.written[slot];
    if (written !== undefined) batch.written = written;
    if (this.acks[slot] !== NO_ACKS) batch.acks = this.acks[slot] as Acks;
    return { producerId: this.ids[slot], producerEpoch: this.epochs[slot], batches: [batch], lastTimestamp: this.lastTimestamps[slot] };
  }

  private promote(slot: number): ProducerStateEntry {
    let entry = this.promoted.get(slot);
    if (entry === undefined) {
      entry = this.materialize(slot);
      this.promoted.set(slot, entry);
      this.written[slot] = undefined;
    }
    return entry;
  }

  private slotAt(i: number): number {
    const slot = this.head + i;
    return slot < this.capacity ? slot : slot - this.capacity;
  }

  private slotOf(producerId: number): number {
    const slot = this.slots.get(producerId);
    if (slot !== -1) return slot;
    this.lastMiss = producerId;
    return -1;
  }

  private remove(slot: number): void {
    this.slots.delete(this.ids[slot], slot);
    this.ids[slot] = -1;
    this.written[slot] = undefined;
    this.promoted.delete(slot);
    this.live--;
  }

  private dropRemovedHead(): void {
    while (this.size > 0 && this.ids[this.head] === -1) {
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      this.size--;
    }
    if (this.size === 0) this.head = 0;
  }

  /** Doubles the ring (oldest at slot 0 after), or, at the bound, closes the gaps removed producers left. */
  private grow(): void {
    const old = {
      capacity: this.capacity,
      ids: this.ids,
      epochs: this.epochs,
      firstSeqs: this.firstSeqs,
      lastSeqs: this.lastSeqs,
      firstOffsets: this.firstOffsets,
      lastOffsets: this.lastOffsets,
      timestamps: this.timestamps,
      lastTimestamps: this.lastTimestamps,
      acks: this.acks,
      written: this.written,
    };
    const promoted = new Map(this.promoted);
    const capacity = this.live < this.capacity && this.capacity >= this.maxProducers ? this.capacity : Math.max(FIRST_CAPACITY, this.capacity * 2);
    this.allocate(capacity);
    this.promoted.clear();
    this.slots.clear();
    let to = 0;
    for (let i = 0; i < this.size; i++) {
      let from = this.head + i;
      if (from >= old.capacity) from -= old.capacity;
      if (old.ids[from] === -1) continue;
      this.ids[to] = old.ids[from];
      this.epochs[to] = old.epochs[from];
      this.firstSeqs[to] = old.firstSeqs[from];
      this.lastSeqs[to] = old.lastSeqs[from];
      this.firstOffsets[to] = old.firstOffsets[from];
      this.lastOffsets[to] = old.lastOffsets[from];
      this.timestamps[to] = old.timestamps[from];
      this.lastTimestamps[to] = old.lastTimestamps[from];
      this.acks[to] = old.acks[from];
      this.written[to] = old.written[from];
      const entry = promoted.get(from);
      if (entry !== undefined) this.promoted.set(to, entry);
      this.slots.set(old.ids[from], to);
      to++;
    }
    this.head = 0;
    this.size = to;
    this.resetPending();
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.ids = new Float64Array(capacity);
    this.epochs = new Int16Array(capacity);
    this.firstSeqs = new Int32Array(capacity);
    this.lastSeqs = new Int32Array(capacity);
    this.firstOffsets = new Float64Array(capacity);
    this.lastOffsets = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
    this.lastTimestamps = new Float64Array(capacity);
    this.acks = new Int8Array(capacity);
    this.written = new Array<Promise<AppendResult> | undefined>(capacity).fill(undefined);
  }
}
