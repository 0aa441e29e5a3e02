import type { FetchPartitionResult, IsolationLevel, StorageEngine } from '../storage-engine';
import { recordsOfRead } from './delayed-fetch';
import { EmbeddedEngine } from './embedded-engine';
import type { PartitionLog } from './partition-log';

/**
 * The embedded engine's side door for a reader that follows the end of one partition (an event
 * stream's shared tail): `listener` runs synchronously when the partition's high watermark moves,
 * before the appends that moved it are answered, and `readRecent` then reads the new batches from
 * memory in the same turn. So the reader can write an appended record to its clients before the
 * producer's answer goes out, without a parked fetch (its timer, promise chain and read) per append.
 * Other engines have no such door: `of` returns undefined and the reader parks fetches instead.
 *
 * Invariant: it listens to at most one log, the partition's current one as of the last `attach`
 * (a topic deleted and created again has a new log); `close` stops listening for good.
 */
export class PartitionTailWatch {
  private log: PartitionLog | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly engine: EmbeddedEngine,
    readonly topic: string,
    readonly partition: number,
    private readonly listener: () => void,
  ) {}

  /** A watch of the partition if `engine` is the embedded one; `listener` must not throw. */
  static of(engine: StorageEngine, topic: string, partition: number, listener: () => void): PartitionTailWatch | undefined {
    return engine instanceof EmbeddedEngine ? new PartitionTailWatch(engine, topic, partition, listener) : undefined;
  }

  /** Listens to the partition's current log; false when there is none (the engine stopped, the topic is gone). */
  attach(): boolean {
    if (this.closed) return false;
    const log = this.engine.partitionLog(this.topic, this.partition);
    if (log !== this.log) {
      this.unsubscribe?.();
      this.log = log;
      this.unsubscribe = log?.onData(this.listener);
    }
    return log !== undefined;
  }

  /**
   * What a fetch at `offset` would answer now (no records when there is nothing new yet), if it
   * needs no file read; undefined when only a fetch can tell (an older batch, an error).
   */
  readRecent(offset: number, maxBytes: number, isolationLevel: IsolationLevel): FetchPartitionResult | undefined {
    const log = this.log;
    const read = log?.readRecentBatches(offset, maxBytes, isolationLevel);
    if (log === undefined || read === undefined) return undefined;
    try {
      return recordsOfRead(log, read);
    } catch {
      // a batch that cannot be decoded: the fetch reports it
      return undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.log = undefined;
  }
}
