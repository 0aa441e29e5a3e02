import type { Logger } from 'pino';
import type { ConsumerRecord, FetchCursorPartitionResult, StorageEngine } from '../engine/storage-engine';
import type { TopicPartition } from '../coordinator/group/group-coordinator';
import { fetchCursors } from '../http/routes/consumers/array-record-cursor';
import type { RecordSource } from '../http/routes/consumers/records-json';
import type { ConsumerConfig } from './consumer-config';
import type { OffsetResolver } from './offset-resolver';
import type { SubscriptionState } from './subscription-state';
import { sleepUntilAborted } from './waiting';

/**
 * Turns the fetched partitions' records into what the client gets, within `maxBytes` of keys and
 * values (at least one record). It may stop early (the budget, a record it cannot show): `count`
 * records were rendered, `nextOffsets[i]` is one past the last one shown of sources[i] (-1 for
 * none), and positions move past those only; with none rendered, `error` is thrown.
 */
export type RecordRenderer<T> = (
  sources: readonly RecordSource[],
  maxBytes: number,
) => { output: T; count: number; nextOffsets: readonly number[]; error?: unknown };

/** A renderer of record objects: what in-process readers (and tests) use; see listRenderer. */
export type RecordListRenderer<T> = (records: readonly ConsumerRecord[]) => { output: T; count: number; error?: unknown };

/**
 * A RecordRenderer for a renderer of record objects: the records of the sources within the byte
 * budget, as objects (their bytes are views, not copies), handed over in one list.
 */
export function listRenderer<T>(render: RecordListRenderer<T>): RecordRenderer<T> {
  return (sources, maxBytes) => {
    const records: ConsumerRecord[] = [];
    const ends: number[] = [];
    let used = 0;
    for (const { topic, partition, records: cursor } of sources) {
      while (cursor.next()) {
        const { keyStart, keyEnd, valueStart, valueEnd } = cursor;
        used += Math.max(0, keyEnd - keyStart) + Math.max(0, valueEnd - valueStart);
        if (used > maxBytes && records.length > 0) break;
        records.push({
          topic,
          partition,
          offset: cursor.offset,
          timestamp: cursor.timestamp,
          timestampType: cursor.timestampType,
          key: keyEnd === -1 ? null : cursor.keyBytes.subarray(keyStart, keyEnd),
          value: valueEnd === -1 ? null : cursor.valueBytes.subarray(valueStart, valueEnd),
          headers: cursor.headerCount === 0 ? [] : cursor.headers(),
        });
      }
      ends.push(records.length);
      if (used > maxBytes) break;
    }
    const rendered = render(records);
    const nextOffsets = sources.map((_, i) => {
      const last = Math.min(rendered.count, ends[i] ?? 0) - 1;
      return last >= (i === 0 ? 0 : (ends[i - 1] as number)) ? (records[last] as ConsumerRecord).offset + 1 : -1;
    });
    return { output: rendered.output, count: rendered.count, nextOffsets, error: rendered.error };
  };
}

interface FetchedPartition {
  result: FetchCursorPartitionResult;
  /** The position the partition was fetched from. */
  from: number;
  /** Its index in the sources handed to the renderer. */
  source: number;
}

export interface ReadResult<T> {
  output: T;
  count: number;
  /** The read was ended early (endRead, or the assignment changed): the caller may wait again. */
  interrupted: boolean;
}

/**
 * Reads for one consumer instance (Kafka's Fetcher): resolves missing positions, fetches every
 * assigned partition in one long-poll (starting from a different partition each time, so a busy
 * partition cannot starve the others), and moves positions past what it delivers.
 *
 * At most one read is in flight; `endRead` aborts it and resolves once it has settled its
 * positions, which is what a revoke waits for before committing.
 */
export class Fetcher {
  private inflight: { controller: AbortController; done: Promise<void> } | undefined;
  private rotation = 0;

  constructor(
    private readonly engine: StorageEngine,
    private readonly state: SubscriptionState,
    private readonly offsets: OffsetResolver,
    private readonly config: ConsumerConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * One fetch over the assigned partitions. `interrupted` when the assignment changed or a revoke
   * ended it: the caller may wait again for the rest of its time.
   */
  async read<T>(maxBytes: number, waitMs: number, clientSignal: AbortSignal, render: RecordRenderer<T>): Promise<ReadResult<T>> {
    const nothing = (interrupted: boolean): ReadResult<T> => ({ output: render([], maxBytes).output, count: 0, interrupted });
    const epoch = this.state.epoch;
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, clientSignal]);
    let finished!: () => void;
    this.inflight = { controller, done: new Promise<void>((r) => (finished = r)) };
    try {
      const assigned = this.state.assignment();
      if (assigned.length === 0) {
        await sleepUntilAborted(waitMs, signal);
        return nothing(controller.signal.aborted);
      }
      await this.resolvePositions(assigned);
      if (epoch !== this.state.epoch) return nothing(true);
      const start = this.rotation++ % assigned.length;
      const order = [...assigned.slice(start), ...assigned.slice(0, start)];
      const requested = order.map((tp) => ({ topic: tp.topic, partition: tp.partition, offset: this.state.position(tp.topic, tp.partition) as number }));
      const response = await fetchCursors(this.engine, {
        partitions: requested,
        maxBytes,
        minBytes: this.config.fetchMinBytes,
        maxWaitMs: waitMs,
        isolationLevel: this.config.isolationLevel,
        signal,
      });
      if (clientSignal.aborted) return nothing(false);
      if (epoch !== this.state.epoch) return nothing(true);
      const fetched: FetchedPartition[] = [];
      const sources: RecordSource[] = [];
      for (const [i, result] of response.partitions.entries()) {
        const from = requested[i]?.offset;
        if (from === undefined || this.state.position(result.topic, result.partition) !== from) continue;
        if (result.error !== undefined) {
          await this.onPartitionError(result);
          continue;
        }
        fetched.push({ result, from, source: sources.length });
        sources.push({ topic: result.topic, partition: result.partition, records: result.records });
      }
      const rendered = render(sources, maxBytes);
      if (rendered.count === 0 && rendered.error !== undefined) throw rendered.error;
      this.advance(fetched, rendered.nextOffsets);
      return { output: rendered.output, count: rendered.count, interrupted: controller.signal.aborted };
    } finally {
      this.inflight = undefined;
      finished();
    }
  }

  /**
   * Positions move past what is delivered: to one past a partition's last delivered record, and to
   * the fetch's next offset when the partition returned no record at all (control batches). A
   * partition whose records were all held back (byte budget, a record that could not be shown)
   * keeps its position.
   */
  private advance(fetched: FetchedPartition[], nextOffsets: readonly number[]): void {
    for (const { result, from, source } of fetched) {
      const next = nextOffsets[source] ?? -1;
      if (next >= 0) this.state.seek(result.topic, result.partition, next);
      else if (result.empty) this.state.seek(result.topic, result.partition, Math.max(from, result.nextOffset));
    }
  }

  private async resolvePositions(assigned: TopicPartition[]): Promise<void> {
    const missing = assigned.filter((tp) => this.state.position(tp.topic, tp.partition) === undefined);
    if (missing.length === 0) return;
    for (const p of await this.offsets.startingOffsets(missing)) {
      if (this.state.isAssigned(p.topic, p.partition) && this.state.position(p.topic, p.partition) === undefined) this.state.seek(p.topic, p.partition, p.offset);
    }
  }

  private async onPartitionError(result: FetchCursorPartitionResult): Promise<void> {
    const err = result.error;
    if (err?.code === 'OFFSET_OUT_OF_RANGE') {
      const offset = await this.offsets.resetOffset(result);
      this.logger.info({ topic: result.topic, partition: result.partition, offset }, 'position out of range; reset');
      this.state.seek(result.topic, result.partition, offset);
      return;
    }
    // A deleted topic's partitions stay assigned until the next rebalance; its reads just come back empty.
    if (err?.code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
  }

  /** Aborts the read in flight and waits until it has settled its positions. */
  async endRead(): Promise<void> {
    const inflight = this.inflight;
    if (inflight === undefined) return;
    inflight.controller.abort();
    await inflight.done;
  }
}
