import type { Logger } from 'pino';
import { ApiError } from '../errors';
import type { IsolationLevel, StorageEngine } from '../engine/storage-engine';
import type { EmbeddedFormat } from '../http/media-types';
import { EventStream, type EndReason } from './event-stream';
import type { EventStreamWriter } from './event-stream-writer';
import { SharedPartitionReaders } from './shared-partition-readers';
import type { StreamPositions, TopicSet } from './stream-cursor';

export interface SseSettings {
  /** A comment goes to every stream that wrote nothing for this long, so proxies keep it open. */
  heartbeatIntervalMs: number;
  /** The `retry:` hint: how long a client's EventSource waits before it reconnects. */
  retryMs: number;
  /** Bytes a client may leave unread before its stream ends with the resume cursor. */
  clientBufferBytes: number;
  maxTopicsPerStream: number;
  maxStreamsPerClient: number;
}

/** A stream slot held for a client while its request is checked; released once, when the stream ends or is refused. */
export interface StreamReservation {
  readonly clientKey: string;
  release(): void;
}

export interface OpenStream {
  reservation: StreamReservation;
  writer: EventStreamWriter;
  topics: TopicSet;
  format: EmbeddedFormat;
  isolationLevel: IsolationLevel;
  positions: StreamPositions;
  /** Streams whose partitions a group assigns do not pick up new partitions by themselves. */
  followNewPartitions: boolean;
  /** Runs once the stream has ended (a group member leaves its group); shutdown waits for it. */
  onEnded?: () => Promise<void>;
}

/**
 * Byte budgets of one shared tail fetch and of one catch-up read: what a single delivery can add
 * to a client's buffer. Kept well under the buffer bound, so one ordinary delivery never ends a
 * client that keeps up.
 */
const READ_BYTES = 256 * 1024;
const TAIL_WAIT_MS = 30_000;

/**
 * Every open event stream of this server: the per-client limit, the one heartbeat timer (which also
 * notices topics that grew, so streams read their new partitions), and shutdown, which ends each
 * stream with the resume cursor and a `retry:` hint instead of cutting it.
 */
export class EventStreamHub {
  readonly readers: SharedPartitionReaders;
  private readonly readBytes: number;
  private readonly streams = new Set<EventStream>();
  private readonly following = new Set<EventStream>();
  private readonly perClient = new Map<string, number>();
  private readonly cleanups = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closing = false;
  private checkingGrowth = false;

  constructor(
    private readonly engine: StorageEngine,
    readonly settings: SseSettings,
    private readonly logger: Logger,
  ) {
    this.readBytes = Math.max(1024, Math.min(READ_BYTES, Math.floor(settings.clientBufferBytes / 4)));
    this.readers = new SharedPartitionReaders(engine, { maxBytes: this.readBytes, maxWaitMs: TAIL_WAIT_MS });
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Holds a stream slot for the client; 429 past maxStreamsPerClient, 503 once shutting down. */
  reserve(clientKey: string): StreamReservation {
    if (this.closing) throw new ApiError('SHUTTING_DOWN', 'The server is shutting down');
    const open = this.perClient.get(clientKey) ?? 0;
    if (open >= this.settings.maxStreamsPerClient) {
      throw new ApiError('RATE_LIMITED', `Client ${clientKey} already has ${open} open event streams, the most allowed`);
    }
    this.perClient.set(clientKey, open + 1);
    let released = false;
    return {
      clientKey,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.perClient.get(clientKey) ?? 1) - 1;
        if (n > 0) this.perClient.set(clientKey, n);
        else this.perClient.delete(clientKey);
      },
    };
  }

  /** Starts a stream on an open writer; it runs until the client leaves or it ends. */
  open(o: OpenStream): EventStream {
    const stream = new EventStream(
      {
        id: this.nextId++,
        clientKey: o.reservation.clientKey,
        topics: o.topics,
        format: o.format,
        positions: o.positions,
        bufferLimitBytes: this.settings.clientBufferBytes,
        retryMs: this.settings.retryMs,
        feeds: { engine: this.engine, readers: this.readers, isolationLevel: o.isolationLevel, catchUpBytes: this.readBytes },
      },
      o.writer,
      (s, reason) => this.ended(s, reason, o),
    );
    this.streams.add(stream);
    if (o.followNewPartitions) this.following.add(stream);
    this.timer ??= setInterval(() => this.tick(), this.settings.heartbeatIntervalMs).unref();
    stream.start();
    return stream;
  }

  /** Cuts every connection with no final event, as a network failure would. For tests and operators. */
  dropAll(): void {
    for (const s of [...this.streams]) s.drop();
  }

  /** Ends every stream with an end event carrying its cursor and a retry hint; clients reconnect and resume. */
  endAll(reason: Exclude<EndReason, 'closed'>, message: string): void {
    for (const s of [...this.streams]) s.end(reason, message);
  }

  /**
   * Ends every stream as endAll does and waits for their clean-up (group members leave their
   * groups); new streams are refused from now on.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.endAll('shutdown', 'The server is shutting down; reconnect to resume');
    this.stopTimer();
    this.readers.close();
    await Promise.all([...this.cleanups]);
  }

  private ended(stream: EventStream, reason: EndReason, o: OpenStream): void {
    this.streams.delete(stream);
    this.following.delete(stream);
    o.reservation.release();
    if (o.onEnded !== undefined) {
      const done = o.onEnded()
        .catch((err: unknown) => this.logger.warn({ err, stream: stream.id }, 'event stream clean-up failed'))
        .finally(() => this.cleanups.delete(done));
      this.cleanups.add(done);
    }
    if (this.streams.size === 0) this.stopTimer();
    this.logger.debug({ stream: stream.id, client: stream.clientKey, reason }, 'event stream ended');
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const s of this.streams) s.heartbeatTick();
    if (!this.checkingGrowth && this.following.size > 0) {
      this.checkingGrowth = true;
      this.followGrowth()
        .catch((err: unknown) => this.logger.debug({ err }, 'partition growth check failed'))
        .finally(() => (this.checkingGrowth = false));
    }
  }

  /** Partitions only grow: streams start reading a topic's new partitions from their beginning. */
  private async followGrowth(): Promise<void> {
    const counts = new Map<string, number | undefined>();
    for (const s of this.following) for (const topic of s.topics.topics) counts.set(topic, undefined);
    for (const topic of counts.keys()) counts.set(topic, await this.engine.partitionCount(topic));
    const starts = new Map<string, number>();
    for (const s of [...this.following]) {
      for (const [t, topic] of s.topics.topics.entries()) {
        const count = counts.get(topic) ?? 0;
        for (let p = s.partitionCount(t); p < count; p++) {
          const key = `${topic}|${p}`;
          let offset = starts.get(key);
          if (offset === undefined) {
            offset = (await this.engine.listOffset(topic, p, 'earliest')).offset;
            starts.set(key, offset);
          }
          s.addPartition(t, p, offset);
        }
      }
    }
  }
}
