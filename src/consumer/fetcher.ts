import type { Logger } from 'pino';
import type { ConsumerRecord, FetchPartitionResult, StorageEngine } from '../engine/storage-engine';
import type { TopicPartition } from '../coordinator/group/group-coordinator';
import { withinRecordBudget } from '../http/record-budget';
import type { ConsumerConfig } from './consumer-config';
import type { OffsetResolver } from './offset-resolver';
import type { SubscriptionState } from './subscription-state';
import { sleepUntilAborted } from './waiting';

export interface ReadResult {
  records: ConsumerRecord[];
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
  async read(maxBytes: number, waitMs: number, clientSignal: AbortSignal): Promise<ReadResult> {
    const epoch = this.state.epoch;
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, clientSignal]);
    let finished!: () => void;
    this.inflight = { controller, done: new Promise<void>((r) => (finished = r)) };
    try {
      const assigned = this.state.assignment();
      if (assigned.length === 0) {
        await sleepUntilAborted(waitMs, signal);
        return { records: [], interrupted: controller.signal.aborted };
      }
      await this.resolvePositions(assigned);
      if (epoch !== this.state.epoch) return { records: [], interrupted: true };
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
      if (clientSignal.aborted) return { records: [], interrupted: false };
      if (epoch !== this.state.epoch) return { records: [], interrupted: true };
      const fetched: Array<{ result: FetchPartitionResult; from: number; count: number }> = [];
      const all: ConsumerRecord[] = [];
      for (const [i, result] of response.partitions.entries()) {
        const from = requested[i]?.offset;
        if (from === undefined || this.state.position(result.topic, result.partition) !== from) continue;
        if (result.error !== undefined) {
          await this.onPartitionError(result);
          continue;
        }
        let count = 0;
        for (const r of result.records) {
          if (r.offset < from) continue;
          all.push(r);
          count++;
        }
        fetched.push({ result, from, count });
      }
      const records = withinRecordBudget(all, maxBytes);
      this.advance(fetched, records);
      return { records, interrupted: controller.signal.aborted };
    } finally {
      this.inflight = undefined;
      finished();
    }
  }

  /**
   * Positions move past what is delivered: to one past a partition's last delivered record, past
   * records the byte budget cut only when none of the partition's records were cut, and to the
   * fetch's next offset when the partition returned no record at all (control batches).
   */
  private advance(fetched: Array<{ result: FetchPartitionResult; from: number; count: number }>, delivered: ConsumerRecord[]): void {
    const last = new Map<string, number>();
    for (const r of delivered) last.set(`${r.topic}\u0000${r.partition}`, r.offset);
    for (const { result, from, count } of fetched) {
      const lastDelivered = last.get(`${result.topic}\u0000${result.partition}`);
      if (lastDelivered !== undefined) this.state.seek(result.topic, result.partition, lastDelivered + 1);
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
