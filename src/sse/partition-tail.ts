import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../engine/engine-error';
import type { FetchPartitionResult, IsolationLevel, StorageEngine } from '../engine/storage-engine';
import { shareRecords, type SharedRecord } from './shared-record';

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
}

const FIRST_BACKOFF_MS = 50;
/** Subscribers served between two turns of the event loop. */
const FAN_OUT_SLICE = 1024;
const MAX_BACKOFF_MS = 2000;

/**
 * The shared read at the end of one partition, for one isolation level: one long-poll fetch at a
 * time, woken by the append that moves the high watermark (or last stable offset), whose records go
 * to every subscriber. Thousands of streams on one partition cost one fetch and one decode per batch.
 *
 * Invariants: `position` is the offset of the fetch in flight and only grows; every subscriber has
 * `next >= position` when it joins (subscribers behind the tail catch up with their own reads first,
 * so history is paced by each client and never bursts through here), and records below a
 * subscriber's `next` are not handed to it again. The tail runs while it has subscribers: the last
 * one leaving aborts the fetch and the tail is dropped (`onIdle`). It never waits for a subscriber;
 * a subscriber that cannot take what it is given deals with that itself (the stream's buffer bound).
 */
export class PartitionTail {
  private pos: number;
  private readonly subscribers = new Set<TailSubscriber>();
  private controller: AbortController | undefined;
  private running = false;
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
    return this.subscribers.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  add(subscriber: TailSubscriber): void {
    if (this.stopped) throw new Error(`the tail of ${this.topic}-${this.partition} is stopped`);
    if (subscriber.next < this.pos) {
      throw new Error(`a subscriber at ${subscriber.next} cannot join the tail of ${this.topic}-${this.partition} at ${this.pos}`);
    }
    this.subscribers.add(subscriber);
    if (!this.running) void this.run();
  }

  remove(subscriber: TailSubscriber): void {
    if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0) return;
    this.stop();
  }

  /** Stops reading; current subscribers are dropped without a word (their streams are ending). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.subscribers.clear();
    this.controller?.abort();
    this.onIdle(this);
  }

  private async run(): Promise<void> {
    this.running = true;
    let backoff = FIRST_BACKOFF_MS;
    while (!this.stopped) {
      const controller = new AbortController();
      this.controller = controller;
      let result: FetchPartitionResult | undefined;
      let error: unknown;
      try {
        const response = await this.engine.fetch({
          partitions: [{ topic: this.topic, partition: this.partition, offset: this.pos }],
          maxBytes: this.options.maxBytes,
          maxWaitMs: this.options.maxWaitMs,
          isolationLevel: this.isolationLevel,
          signal: controller.signal,
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
        await sleep(backoff, undefined, { signal: controller.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      backoff = FIRST_BACKOFF_MS;
      if (result.nextOffset <= this.pos && result.records.length === 0) continue;
      const shared = shareRecords(result.records);
      this.pos = Math.max(this.pos, result.nextOffset);
      await this.fanOut(shared, result.nextOffset);
    }
    this.running = false;
  }

  /**
   * Hands the records to every subscriber, yielding to the event loop between slices so that ten
   * thousand socket writes do not hold up produce requests. Subscribers that join meanwhile are
   * already at the new position; a delivery may end its stream, which leaves the set mid-loop.
   */
  private async fanOut(records: readonly SharedRecord[], nextOffset: number): Promise<void> {
    const subscribers = [...this.subscribers];
    for (let i = 0; i < subscribers.length; i++) {
      if (i > 0 && i % FAN_OUT_SLICE === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.stopped) return;
      }
      subscribers[i].deliver(records, nextOffset);
    }
  }

  private failAll(err: EngineError): void {
    const subscribers = [...this.subscribers];
    this.stop();
    for (const s of subscribers) s.fail(err);
  }
}

export function asEngineError(err: unknown, topic: string, partition: number): EngineError {
  if (err instanceof EngineError) return err;
  if (err === undefined) return new EngineError('UNKNOWN_SERVER_ERROR', `No fetch result for ${topic}-${partition}`);
  return new EngineError('UNKNOWN_SERVER_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
}
