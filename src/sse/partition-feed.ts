import type { EngineError } from '../engine/engine-error';
import type { IsolationLevel, StorageEngine } from '../engine/storage-engine';
import { asEngineError, type PartitionTail, type TailSubscriber } from './partition-tail';
import { shareRecords, type SharedRecord } from './shared-record';
import type { SharedPartitionReaders } from './shared-partition-readers';

/** What a feed delivers into: its event stream. */
export interface FeedSink {
  /** records[from..] are new to the feed (offset >= its next); nextOffset is where it reads on. */
  deliverFeed(feed: PartitionFeed, records: readonly SharedRecord[], from: number, nextOffset: number): void;
  feedFailed(feed: PartitionFeed, err: EngineError): void;
  /** Resolves when the client has taken what was written, so catching up never outruns it. */
  drained(): Promise<void>;
}

export interface PartitionFeedOptions {
  engine: StorageEngine;
  readers: SharedPartitionReaders;
  isolationLevel: IsolationLevel;
  /** Byte budget of one catch-up read. */
  catchUpBytes: number;
}

/**
 * One partition of one event stream. Behind the end of the log it catches up with its own reads,
 * one at a time and only once the client has drained the previous one, so a client reading history
 * sets its own pace and its buffer stays small. At the end it joins the partition's shared tail and
 * from then on is pushed records as they are appended.
 *
 * Invariant: `next` is the offset of the first record not yet handed to the stream; it only grows.
 */
export class PartitionFeed implements TailSubscriber {
  private nextOffset: number;
  private tail: PartitionTail | undefined;
  private stopped = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly sink: FeedSink,
    readonly topicIndex: number,
    readonly topic: string,
    readonly partition: number,
    next: number,
    private readonly options: PartitionFeedOptions,
  ) {
    this.nextOffset = next;
  }

  get next(): number {
    return this.nextOffset;
  }

  /** True once the feed reads from the shared tail. */
  get tailing(): boolean {
    return this.tail !== undefined;
  }

  start(): void {
    this.catchUp().catch((err: unknown) => {
      if (!this.stopped) this.fail(asEngineError(err, this.topic, this.partition));
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller.abort();
    this.tail?.remove(this);
    this.tail = undefined;
  }

  deliver(records: readonly SharedRecord[], nextOffset: number): void {
    if (this.stopped) return;
    let from = 0;
    while (from < records.length && records[from].offset < this.nextOffset) from++;
    if (from === records.length && nextOffset <= this.nextOffset) return;
    this.nextOffset = Math.max(this.nextOffset, nextOffset);
    this.sink.deliverFeed(this, records, from, this.nextOffset);
  }

  fail(err: EngineError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tail = undefined;
    this.sink.feedFailed(this, err);
  }

  private async catchUp(): Promise<void> {
    const { engine, readers, isolationLevel, catchUpBytes } = this.options;
    let atEnd = false;
    while (!this.stopped) {
      const tail = readers.tryJoin(this.topic, this.partition, isolationLevel, this, atEnd);
      if (tail !== undefined) {
        this.tail = tail;
        return;
      }
      await this.sink.drained();
      if (this.stopped) return;
      const response = await engine.fetch({
        partitions: [{ topic: this.topic, partition: this.partition, offset: this.nextOffset }],
        maxBytes: catchUpBytes,
        maxWaitMs: 0,
        isolationLevel,
        signal: this.controller.signal,
      });
      if (this.stopped) return;
      const result = response.partitions[0];
      if (result?.error?.code === 'OFFSET_OUT_OF_RANGE' && (await this.skipToLogStart())) continue;
      if (result === undefined || result.error !== undefined) throw asEngineError(result?.error, this.topic, this.partition);
      atEnd = result.records.length === 0 && result.nextOffset <= this.nextOffset;
      if (!atEnd) this.deliver(shareRecords(result.records), result.nextOffset);
    }
  }

  /**
   * Retention deleted the records at `next` while the client was away: go on from the log start
   * offset, as a Kafka consumer with auto.offset.reset=earliest does. False if that is no help.
   */
  private async skipToLogStart(): Promise<boolean> {
    const { offset } = await this.options.engine.listOffset(this.topic, this.partition, 'earliest', this.options.isolationLevel);
    if (this.stopped || offset <= this.nextOffset) return false;
    this.deliver([], offset);
    return true;
  }
}
