import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../engine/engine-error';
import type { ConsumerRecord, FetchPartitionResult, IsolationLevel, StorageEngine } from '../engine/storage-engine';
import { shareRecords, type SharedRecord } from './shared-record';
import { SubscriberRing } from './subscriber-ring';

/** Whoever reads a partition through a tail: one partition of one event stream. */
export interface TailSubscriber {
  /** The next offset this subscriber wants; records below it were already delivered to it. */
  readonly next: number;
  /** Records in offset order, then the offset to read next (past any control records). */
  deliver(records: readonly SharedRecord[], nextOffset: number): void;
  /** The tail cannot go on (topic deleted, log truncated, engine closed); the subscriber is already removed. */
  fail(err: EngineError): void;
}

export interface PartitionTailOptions {
  /** Byte budget of one fetch: what one wake-up can hand every subscriber at once. */
  maxBytes: number;
  /** How long one fetch parks in the engine; an append wakes it long before. */
  maxWaitMs: number;
  /** Subscribers served between two turns of the event loop; default 1024. */
  sliceSize?: number;
}

const FIRST_BACKOFF_MS = 50;
const FAN_OUT_SLICE = 1024;
const MAX_BACKOFF_MS = 2000;

/**
 * The shared read at the end of one partition, for one isolation level: one long-poll fetch at a
 * time, woken by the append that moves the high watermark (or last stable offset), whose records go
 * to every subscriber. Thousands of streams on one partition cost one fetch and one decode per batch.
 *
 * Fetching and handing out run side by side. Fetched records join `window` (the records some
 * subscriber may still lack, in offset order, ending just below `position`), and laps walk the
 * subscribers in a fixed order, handing each one whatever of the window it lacks in one delivery.
 * A record fetched in the middle of a lap goes to the rest of that lap's subscribers at once and to
 * the ones before in the next lap, so no subscriber waits for more than about one lap however the
 * appends fall; a subscriber that fell behind gets its missing records together, in one write.
 *
 * Invariants: `position` is the offset of the next fetch and only grows; every subscriber has
 * `next >= position` when it joins (subscribers behind the tail catch up with their own reads first,
 * so history is paced by each client and never bursts through here), and records below a
 * subscriber's `next` are not handed to it again. A lap that started at position P leaves every
 * subscriber at P or past it, so then the window drops what lies below P. The window holds at most
 * about `maxBytes` (plus one fetch): past it the fetch waits for a lap to end. The tail runs while it
 * has subscribers: the last one leaving aborts the fetch and the tail is dropped (`onIdle`). It never
 * waits for a subscriber; a subscriber that cannot take what it is given deals with that itself (the
 * stream's buffer bound).
 */
export class PartitionTail {
  private pos: number;
  private readonly ring = new SubscriberRing<TailSubscriber>();
  /** Replaced, never changed in place: a delivery's array identity names its content (frame caches). */
  private window: readonly SharedRecord[] = [];
  private windowBytes = 0;
  /** Aborts the parked fetch (and a backoff) when the tail stops; one for the tail's life, not one per fetch. */
  private readonly controller = new AbortController();
  private running = false;
  private lapping = false;
  private lapEnded: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly engine: StorageEngine,
    readonly topic: string,
    readonly partition: number,
    readonly isolationLevel: IsolationLevel,
    position: number,
    private readonly options: PartitionTailOptions,
    private readonly onIdle: (tail: PartitionTail) => void,
  ) {
    this.pos = position;
  }

  get position(): number {
    return this.pos;
  }

  get subscriberCount(): number {
    return this.ring.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  add(subscriber: TailSubscriber): void {
    if (this.stopped) throw new Error(`the tail of ${this.topic}-${this.partition} is stopped`);
    if (subscriber.next < this.pos) {
      throw new Error(`a subscriber at ${subscriber.next} cannot join the tail of ${this.topic}-${this.partition} at ${this.pos}`);
    }
    this.ring.add(subscriber);
    if (!this.running) void this.run();
  }

  remove(subscriber: TailSubscriber): void {
    if (!this.ring.delete(subscriber)) return;
    if (this.ring.size === 0) this.stop();
    else if (!this.lapping && this.ring.sparse) this.ring.compact();
  }

  /** Stops reading; current subscribers are dropped without a word (their streams are ending). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ring.clear();
    this.window = [];
    this.windowBytes = 0;
    this.controller.abort();
    this.lapEnded?.();
    this.onIdle(this);
  }

  private async run(): Promise<void> {
    this.running = true;
    let backoff = FIRST_BACKOFF_MS;
    while (!this.stopped) {
      if (this.lapping && this.windowBytes >= this.options.maxBytes) {
        await new Promise<void>((resolve) => (this.lapEnded = resolve));
        continue;
      }
      const signal = this.controller.signal;
      let result: FetchPartitionResult | undefined;
      let error: unknown;
      try {
        const response = await this.engine.fetch({
          partitions: [{ topic: this.topic, partition: this.partition, offset: this.pos }],
          maxBytes: this.options.maxBytes,
          maxWaitMs: this.options.maxWaitMs,
          isolationLevel: this.isolationLevel,
          signal,
        });
        result = response.partitions[0];
        error = result?.error;
      } catch (err) {
        error = err;
      }
      if (this.stopped) break;
      if (error !== undefined || result === undefined) {
        const engineError = asEngineError(error, this.topic, this.partition);
        if (!engineError.retriable) {
          this.failAll(engineError);
          break;
        }
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      backoff = FIRST_BACKOFF_MS;
      if (result.nextOffset <= this.pos && result.records.length === 0) continue;
      if (result.records.length > 0) {
        this.window = this.window.concat(shareRecords(result.records));
        for (const r of result.records) this.windowBytes += recordBytes(r);
      }
      this.pos = Math.max(this.pos, result.nextOffset);
      if (!this.lapping) void this.lap();
    }
    this.running = false;
  }

  /**
   * Laps over the subscribers until a whole lap finds none behind, yielding to the event loop
   * between slices so that ten thousand socket writes do not hold up produce requests (nor the
   * fetch that brings the next records, which the rest of the lap then hands out too). A delivery
   * may end its stream, which leaves a hole in the ring mid-lap.
   */
  private async lap(): Promise<void> {
    this.lapping = true;
    const slice = this.options.sliceSize ?? FAN_OUT_SLICE;
    let served = 0;
    for (;;) {
      const floor = this.pos;
      let behind = false;
      for (let i = 0; i < this.ring.length; i++) {
        const subscriber = this.ring.at(i);
        if (subscriber !== undefined && subscriber.next < this.pos) {
          behind = true;
          subscriber.deliver(this.window, this.pos);
          if (++served % slice === 0) {
            await new Promise((resolve) => setImmediate(resolve));
            if (this.stopped) return;
          }
        }
      }
      if (this.stopped) return;
      this.ring.compact();
      this.dropBelow(floor);
      if (!behind && floor === this.pos) break;
    }
    this.lapping = false;
    const ended = this.lapEnded;
    this.lapEnded = undefined;
    ended?.();
  }

  /** Every subscriber is at `floor` or past it: the window forgets what lies below. */
  private dropBelow(floor: number): void {
    const window = this.window;
    let from = 0;
    while (from < window.length && window[from].offset < floor) this.windowBytes -= recordBytes(window[from++].record);
    if (from > 0) this.window = window.slice(from);
    if (this.window.length === 0) this.windowBytes = 0;
  }

  private failAll(err: EngineError): void {
    const subscribers = this.ring.members();
    this.stop();
    for (const s of subscribers) s.fail(err);
  }
}

function recordBytes(record: ConsumerRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
}

export function asEngineError(err: unknown, topic: string, partition: number): EngineError {
  if (err instanceof EngineError) return err;
  if (err === undefined) return new EngineError('UNKNOWN_SERVER_ERROR', `No fetch result for ${topic}-${partition}`);
  return new EngineError('UNKNOWN_SERVER_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
}
