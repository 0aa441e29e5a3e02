import type { EngineError } from '../engine/engine-error';
import type { EmbeddedFormat } from '../http/media-types';
import { PartitionFeed, type FeedSink, type PartitionFeedOptions } from './partition-feed';
import type { SharedRecord } from './shared-record';
import { encodeCursor, NOT_READ, type StreamPositions, type TopicSet } from './stream-cursor';
import { sseFrame, type EventStreamWriter } from './event-stream-writer';

/** Encoded frames of one delivery (a tail's records array) for one-partition streams, by format and start. */
const SOLO_FRAMES = new WeakMap<readonly SharedRecord[], Map<string, Buffer>>();
/** The frames built or found last; holds one delivery's buffer at most. */
let lastSolo: { records: readonly SharedRecord[]; from: number; format: EmbeddedFormat; frames: Buffer } = {
  records: [],
  from: -1,
  format: 'json',
  frames: Buffer.alloc(0),
};

/**
 * Why a stream ended, as its final `end` event says. Every one but `closed` (the client went away)
 * sends that event with the resume cursor as its `id`, so the client's EventSource reconnects after
 * the `retry:` delay and carries on exactly where it was.
 */
export type EndReason = 'slow_consumer' | 'shutdown' | 'error' | 'rebalance' | 'closed';

export interface EventStreamParams {
  id: number;
  /** Whom the per-client stream limit counts this stream against. */
  clientKey: string;
  topics: TopicSet;
  format: EmbeddedFormat;
  /** Where to start, per partition of each topic; NOT_READ for partitions the stream does not read. */
  positions: StreamPositions;
  /** Bytes the client may leave unread before the stream is ended. */
  bufferLimitBytes: number;
  retryMs: number;
  feeds: PartitionFeedOptions;
}

/**
 * One subscriber's event stream over one or more topics. It keeps the next offset of every
 * partition it reads (`positions`) and stamps each event with the cursor of those positions just
 * past that event's record, so the last `id:` a client saw is exactly where it resumes.
 *
 * Invariants: positions only grow while a partition is read; an event is written only after the
 * positions it carries were updated; the client's unread bytes never pass the buffer bound by more
 * than one delivery: past it the stream ends with an `end` event carrying the cursor. The stream
 * stays open until it ends or the client goes away; then every feed is stopped and `onEnded` runs.
 */
export class EventStream implements FeedSink {
  readonly id: number;
  readonly clientKey: string;
  readonly topics: TopicSet;
  private readonly positions: StreamPositions;
  private readonly feeds: (PartitionFeed | undefined)[][];
  private ended: EndReason | undefined;

  constructor(
    private readonly params: EventStreamParams,
    private readonly writer: EventStreamWriter,
    private readonly onEnded: (stream: EventStream, reason: EndReason) => void,
  ) {
    this.id = params.id;
    this.clientKey = params.clientKey;
    this.topics = params.topics;
    this.positions = params.positions.map((row) => [...row]);
    this.feeds = this.positions.map(() => []);
  }

  /** Starts a feed for every partition with a position; the writer is already open. */
  start(): void {
    this.writer.onClose(() => this.finish('closed'));
    this.positions.forEach((row, t) =>
      row.forEach((offset, p) => {
        if (offset !== NOT_READ) this.startFeed(t, p, offset);
      }),
    );
  }

  get endReason(): EndReason | undefined {
    return this.ended;
  }

  /** The cursor of everything written so far. */
  cursor(): string {
    return encodeCursor(this.topics, this.positions);
  }

  /** Partitions of topic `t` the stream knows of (read or not). */
  partitionCount(t: number): number {
    return this.positions[t].length;
  }

  /** Starts reading a partition the stream did not read: a new partition, or one a group assigned. */
  addPartition(t: number, p: number, offset: number): void {
    if (this.ended !== undefined || this.feeds[t][p] !== undefined) return;
    const row = this.positions[t];
    while (row.length <= p) row.push(NOT_READ);
    this.startFeed(t, p, offset);
  }

  /**
   * Stops reading every partition (a group revokes them before it rebalances) and returns where
   * each stood: the offsets to commit. Also valid once the stream has ended.
   */
  revokeAll(): Array<{ topic: string; partition: number; offset: number }> {
    const delivered = this.readPositions();
    this.positions.forEach((row, t) =>
      row.forEach((_, p) => {
        this.feeds[t][p]?.stop();
        this.feeds[t][p] = undefined;
        row[p] = NOT_READ;
      }),
    );
    return delivered;
  }

  /** Next offset of each partition the stream reads, by topic; for commits and tests. */
  readPositions(): Array<{ topic: string; partition: number; offset: number }> {
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    this.positions.forEach((row, t) =>
      row.forEach((offset, partition) => {
        if (offset !== NOT_READ) out.push({ topic: this.topics.topics[t], partition, offset });
      }),
    );
    return out;
  }

  deliverFeed(feed: PartitionFeed, records: readonly SharedRecord[], from: number, nextOffset: number): void {
    if (this.ended !== undefined) return;
    if (from < records.length && this.writer.bufferedBytes > this.params.bufferLimitBytes) {
      this.end('slow_consumer', 'The client did not keep up; resume from the cursor');
      return;
    }
    const out = from === records.length ? undefined : this.isSolo() ? this.soloFrames(records, from) : this.frames(feed, records, from);
    this.positions[feed.topicIndex][feed.partition] = nextOffset;
    if (out === undefined) return;
    this.writer.write(out);
    if (this.writer.bufferedBytes > this.params.bufferLimitBytes) {
      this.end('slow_consumer', 'The client did not keep up; resume from the cursor');
    }
  }

  /** One frame per record, each with the cursor just past its record. */
  private frames(feed: PartitionFeed, records: readonly SharedRecord[], from: number): string {
    const row = this.positions[feed.topicIndex];
    const format = this.params.format;
    let out = '';
    for (let i = from; i < records.length; i++) {
      const record = records[i];
      row[feed.partition] = record.offset + 1;
      const data = record.data(format);
      out += sseFrame(data.event, data.json, encodeCursor(this.topics, this.positions));
    }
    return out;
  }

  /** A stream of one topic with one partition: its cursors depend on the records alone. */
  private isSolo(): boolean {
    return this.positions.length === 1 && this.positions[0].length === 1;
  }

  /**
   * The frames of a delivery to a one-partition stream are the same bytes for every such stream
   * in the same format, so they are built and encoded once per delivery and the one buffer is
   * written to every socket.
   */
  private soloFrames(records: readonly SharedRecord[], from: number): Buffer {
    const format = this.params.format;
    // A lap hands the same delivery to subscriber after subscriber: the last frames usually fit.
    if (lastSolo.records === records && lastSolo.from === from && lastSolo.format === format) return lastSolo.frames;
    let byKey = SOLO_FRAMES.get(records);
    if (byKey === undefined) {
      byKey = new Map();
      SOLO_FRAMES.set(records, byKey);
    }
    const key = `${format}|${from}`;
    let frames = byKey.get(key);
    if (frames === undefined) {
      let out = '';
      for (let i = from; i < records.length; i++) {
        const data = records[i].data(format);
        out += sseFrame(data.event, data.json, encodeCursor(this.topics, [[records[i].offset + 1]]));
      }
      frames = Buffer.from(out, 'utf8');
      byKey.set(key, frames);
    }
    lastSolo = { records, from, format, frames };
    return frames;
  }

  feedFailed(feed: PartitionFeed, err: EngineError): void {
    this.end('error', `Reading ${feed.topic}-${feed.partition} failed: ${err.message}`);
  }

  drained(): Promise<void> {
    return this.writer.drained();
  }

  heartbeatTick(): void {
    if (this.ended === undefined) this.writer.heartbeatTick();
  }

  /** Ends the stream with a final `end` event carrying the cursor and a `retry:` hint. */
  end(reason: Exclude<EndReason, 'closed'>, message: string): void {
    if (this.ended !== undefined) return;
    const cursor = this.cursor();
    this.finish(reason);
    this.writer.end(`retry: ${this.params.retryMs}\n${sseFrame('end', JSON.stringify({ reason, message, cursor }), cursor)}`);
  }

  /** Cuts the connection with no final event, as a network failure would (tests, operators). */
  drop(): void {
    this.writer.destroy();
  }

  private startFeed(t: number, p: number, offset: number): void {
    this.positions[t][p] = offset;
    const feed = new PartitionFeed(this, t, this.topics.topics[t], p, offset, this.params.feeds);
    this.feeds[t][p] = feed;
    feed.start();
  }

  private finish(reason: EndReason): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    for (const row of this.feeds) for (const feed of row) feed?.stop();
    this.onEnded(this, reason);
  }
}
