import type { Logger } from 'pino';
import type { ConsumerRecord, FetchPartitionResult, StorageEngine } from '../engine/storage-engine';
import type { TopicPartition } from '../coordinator/group/group-coordinator';
import { withinRecordBudget } from '../http/record-budget';
import type { ConsumerConfig } from './consumer-config';
import type { OffsetResolver } from './offset-resolver';
import type { SubscriptionState } from './subscription-state';
import { sleepUntilAborted } from './waiting';

/**
 * Turns records into what the client gets. It may stop early (a record it cannot show): `count`
 * records were rendered, and positions move past those only; with none rendered, `error` is thrown.
 */
export type RecordRenderer<T> = (records: readonly ConsumerRecord[]) => { output: T; count: number; error?: unknown };

interface FetchedPartition {
  result: FetchPartitionResult;
  /** The position the partition was fetched from. */
  from: number;
  /** Where its records start in the read's record list, and how many there are. */
  start: number;
  count: number;
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
    const nothing = (interrupted: boolean): ReadResult<T> => ({ output: render([]).output, count: 0, interrupted });
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
      const response = await this.engine.fetch({
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
      const all: ConsumerRecord[] = [];
      for (const [i, result] of response.partitions.entries()) {
        const from = requested[i]?.offset;
        if (from === undefined || this.state.position(result.topic, result.partition) !== from) continue;
        if (result.error !== undefined) {
          await this.onPartitionError(result);
          continue;
        }
        const start = all.length;
        for (const r of result.records) if (r.offset >= from) all.push(r);
        fetched.push({ result, from, start, count: all.length - start });
      }
      const records = withinRecordBudget(all, maxBytes);
      const rendered = render(records);
      if (rendered.count === 0 && rendered.error !== undefined) throw rendered.error;
      this.advance(fetched, all, rendered.count);
      return { output: rendered.output, count: rendered.count, interrupted: controller.signal.aborted };
    } finally {
      this.inflight = undefined;
      finished();
    }
  }

  /**
   * Positions move past what is delivered, the first `delivered` records of `all` (which holds each
   * partition's records together, in order): to one past a partition's last delivered record, and
   * to the fetch's next offset when the partition returned no record at all (control batches). A
   * partition whose records were all held back (byte budget, a record that could not be shown)
   * keeps its position.
   */
  private advance(fetched: FetchedPartition[], all: ConsumerRecord[], delivered: number): void {
    for (const { result, from, start, count } of fetched) {
      const mine = Math.min(count, Math.max(0, delivered - start));
      if (mine > 0) this.state.seek(result.topic, result.partition, (all[start + mine - 1] as ConsumerRecord).offset + 1);
      else if (count === 0) this.state.seek(result.topic, result.partition, Math.max(from, result.nextOffset));
    }
  }

  private async resolvePositions(assigned: TopicPartition[]): Promise<void> {
    const missing = assigned.filter((tp) => this.state.position(tp.topic, tp.partition) === undefined);
    if (missing.length === 0) return;
    for (const p of await this.offsets.startingOffsets(missing)) {
      if (this.state.isAssigned(p.topic, p.partition) && this.state.position(p.topic, p.partition) === undefined) this.state.seek(p.topic, p.partition, p.offset);
    }
  }

  private async onPartitionError(result: FetchPartitionResult): Promise<void> {
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
