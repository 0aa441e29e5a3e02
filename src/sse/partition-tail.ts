import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../engine/engine-error';
import type { ConsumerRecord, FetchPartitionResult, IsolationLevel, StorageEngine } from '../engine/storage-engine';
import { PartitionTailWatch } from '../engine/embedded/partition-tail-watch';
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
/**
 * Subscribers served in the log writer's turn, before the appends are answered: the first of a lap
 * get the event ahead of the producer's answer, and the answer waits for at most this many writes
 * (a lap over thousands goes on in later turns).
 */
const IN_WRITER_TURN = 8;
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
 *
 * On the embedded engine the tail parks no fetch at the end of the log: it watches the partition
 * (PartitionTailWatch), and an append that moves the high watermark hands the tail its batch in the
 * same turn, before the producer is answered, so the lap writes the event first. It fetches only
 * what the watch cannot read from memory (and, with a maxWaitMs of 0, to learn it is at the end);
 * an append during such a fetch makes it fetch again rather than park.
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
  /** On the embedded engine: appends wake the tail through it (see the class comment). */
  private readonly watch: PartitionTailWatch | undefined;
  /** An append came while a fetch was in flight: that fetch may have read before it. */
  private appendedWhileRunning = false;
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
    this.watch = PartitionTailWatch.of(engine, topic, partition, () => this.appended());
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
    this.watch?.close();
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
      const watching = this.watch?.attach() === true;
      this.appendedWhileRunning = false;
      let result: FetchPartitionResult | undefined;
      let error: unknown;
      try {
        const response = await this.engine.fetch({
          partitions: [{ topic: this.topic, partition: this.partition, offset: this.pos }],
          maxBytes: this.options.maxBytes,
          maxWaitMs: watching ? 0 : this.options.maxWaitMs,
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
      // At the end of the log: parked on the watch, unless an append came during the fetch.
      if (!this.take(result) && watching && !this.appendedWhileRunning) break;
    }
    this.running = false;
  }

  /** The watch's listener, in the writer's turn: takes the new records from memory and laps at once. */
  private appended(): void {
    if (this.stopped) return;
    if (this.running) {
      this.appendedWhileRunning = true;
      return;
    }
    try {
      const watch = this.watch;
      // A log that is gone (topic deleted, engine stopping) or a full window: the fetch loop deals with it.
      const full = this.lapping && this.windowBytes >= this.options.maxBytes;
      const result = full || watch?.attach() !== true ? undefined : watch.readRecent(this.pos, this.options.maxBytes, this.isolationLevel);
      if (result === undefined || result.error !== undefined) {
        void this.run();
        return;
      }
      this.take(result, true);
      // More came than one read's budget: the fetch loop reads the rest.
      const end = this.isolationLevel === 'read_committed' ? result.lastStableOffset : result.highWatermark;
      if (!this.stopped && !this.running && this.pos < end) void this.run();
    } catch (err) {
      // Nothing above should throw; if it does, the log writer's drain this runs in must go on.
      this.failAll(asEngineError(err, this.topic, this.partition));
    }
  }

  /**
   * Adds a read's new records to the window and starts a lap; false when it brought nothing new.
   * `inWriterTurn`: called by the append's own listener, so the lap's first turn is kept short.
   */
  private take(result: FetchPartitionResult, inWriterTurn = false): boolean {
    let records = result.records;
    if (records.length > 0 && records[0].offset < this.pos) records = records.filter((r) => r.offset >= this.pos);
    if (result.nextOffset <= this.pos && records.length === 0) return false;
    if (records.length > 0) {
      this.window = this.window.concat(shareRecords(records));
      for (const r of records) this.windowBytes += recordBytes(r);
    }
    this.pos = Math.max(this.pos, result.nextOffset);
    if (!this.lapping) void this.lap(inWriterTurn ? IN_WRITER_TURN : undefined);
    return true;
  }

  /**
   * Laps over the subscribers until a whole lap finds none behind, yielding to the event loop
   * between slices so that ten thousand socket writes do not hold up produce requests (nor the
   * fetch that brings the next records, which the rest of the lap then hands out too). A delivery
   * may end its stream, which leaves a hole in the ring mid-lap.
   */
  private async lap(firstSlice?: number): Promise<void> {
    this.lapping = true;
    const slice = this.options.sliceSize ?? FAN_OUT_SLICE;
    let served = 0;
    let nextYield = Math.min(slice, firstSlice ?? slice);
    for (;;) {
      const floor = this.pos;
      let behind = false;
      for (let i = 0; i < this.ring.length; i++) {
        const subscriber = this.ring.at(i);
        if (subscriber !== undefined && subscriber.next < this.pos) {
          behind = true;
          subscriber.deliver(this.window, this.pos);
          if (++served === nextYield) {
            nextYield += slice;
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
