import { EngineError, type EngineErrorCode } from '../engine-error';
import type { Acks, AppendResult, IsolationLevel, ListOffsetResult, ProducerRecord } from '../storage-engine';
import { delay } from './delay';
import { toEngineError } from './kafka-error-mapping';
import type { KafkaMetadata } from './kafka-metadata';
import { toKafkajsMessage } from './kafka-records';
import { ISOLATION, type KjsBroker, type KjsCluster } from './kafkajs-internals';
import type { ResolvedKafkaEngineOptions } from './kafka-engine-options';

/** ListOffsets' special timestamps. */
export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

/**
 * Requests that go to a partition's leader (Produce, ListOffsets), routed by the engine's metadata
 * view and retried with jittered, doubling backoff when leadership moved: the metadata is refreshed
 * and the request sent again, within kafkajs's retry settings (retries, maxRetryTime).
 *
 * A Produce without a producer identity is retried only after errors that prove the broker appended
 * nothing (not the leader, no leader); after a timeout or a lost connection the append may have
 * happened, so the error goes back to the caller, retriable, rather than risking a duplicate behind
 * its back. A Produce with an identity (idempotent or transactional) is retried after every
 * retriable error: the retry carries the same producer id, epoch and sequence, and Kafka answers a
 * batch it already has with the first append's offsets instead of writing it twice.
 */
const SAFE_PRODUCE_RETRY: ReadonlySet<EngineErrorCode> = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE']);

/** The producer fields of a Produce: Kafka's record batch header, plus the transactional id of a transactional batch. */
export interface ProduceIdentity {
  /** int64 as decimal text, as kafkajs carries it. */
  producerId: string;
  producerEpoch: number;
  baseSequence: number;
  transactionalId?: string;
}

export class KafkaLeaderClient {
  constructor(
    private readonly cluster: KjsCluster,
    private readonly metadata: KafkaMetadata,
    private readonly options: ResolvedKafkaEngineOptions,
  ) {}

  async produce(topic: string, partition: number, records: ProducerRecord[], acks: Acks, identity?: ProduceIdentity): Promise<AppendResult> {
    if (records.length === 0) throw new EngineError('INVALID_REQUEST', 'An append needs at least one record');
    const now = Date.now();
    const messages = records.map((r) => toKafkajsMessage(r, now));
    const maxTimestamp = Math.max(...messages.map((m) => m.timestamp));
    const retry = identity === undefined ? (e: EngineError) => SAFE_PRODUCE_RETRY.has(e.code) : (e: EngineError) => e.retriable;
    const producer =
      identity === undefined
        ? {}
        : { producerId: identity.producerId, producerEpoch: identity.producerEpoch, ...(identity.transactionalId === undefined ? {} : { transactionalId: identity.transactionalId }) };
    const firstSequence = identity === undefined ? {} : { firstSequence: identity.baseSequence };
    const response = await this.onLeader(topic, partition, `append to ${topic}-${partition}`, retry, (broker) =>
      broker.produce({ acks, timeout: this.options.requestTimeout, ...producer, topicData: [{ topic, partitions: [{ partition, ...firstSequence, messages }] }] }),
    );
    const result = response?.topics.find((t) => t.topicName === topic)?.partitions.find((p) => p.partition === partition);
    if (acks === 0 || result === undefined) {
      // acks=0: the broker sends no answer, so the offsets are unknown.
      return { topic, partition, baseOffset: -1, lastOffset: -1, timestamp: maxTimestamp, logStartOffset: -1 };
    }
    const baseOffset = Number(result.baseOffset);
    const logAppendTime = result.logAppendTime === undefined ? -1 : Number(result.logAppendTime);
    return {
      topic,
      partition,
      baseOffset,
      lastOffset: baseOffset + records.length - 1,
      // Kafka answers -1 unless the topic stamps LogAppendTime.
      timestamp: logAppendTime === -1 ? maxTimestamp : logAppendTime,
      logStartOffset: result.logStartOffset === undefined ? -1 : Number(result.logStartOffset),
    };
  }

  /** ListOffsets for one partition: -2 earliest, -1 latest, else the first offset with timestamp >= it. */
  async listOffset(topic: string, partition: number, timestamp: number, isolationLevel: IsolationLevel): Promise<ListOffsetResult> {
    const [result] = await this.listOffsets(topic, [partition], timestamp, isolationLevel);
    return result;
  }

  /** ListOffsets for several partitions of a topic, one request per leader; results in the order asked. */
  async listOffsets(topic: string, partitions: number[], timestamp: number, isolationLevel: IsolationLevel): Promise<ListOffsetResult[]> {
    const view = await this.metadata.requireTopic(topic);
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) {
      const leader = view.partitions[p]?.leader ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const found = new Map<number, ListOffsetResult>();
    await Promise.all(
      [...byLeader.values()].map(async (group) => {
        const response = await this.onLeader(topic, group[0], `list offsets of ${topic}`, (e) => e.retriable, (broker) =>
          broker.listOffsets({ isolationLevel: ISOLATION[isolationLevel], topics: [{ topic, partitions: group.map((partition) => ({ partition, timestamp })) }] }),
        );
        for (const t of response.responses) {
          for (const p of t.partitions) {
            const special = timestamp === EARLIEST_TIMESTAMP || timestamp === LATEST_TIMESTAMP;
            found.set(p.partition, { offset: Number(p.offset), timestamp: special || p.timestamp === undefined ? -1 : Number(p.timestamp) });
          }
        }
      }),
    );
    return partitions.map((p) => {
      const r = found.get(p);
      if (r === undefined) throw new EngineError('UNKNOWN_SERVER_ERROR', `The leader of ${topic}-${p} sent no offset for it`);
      return r;
    });
  }

  /**
   * Runs `send` against the current leader of topic-partition (all partitions passed to `send` must
   * share that leader). Retries while `retry(error)` holds, within the retry budget.
   */
  private async onLeader<T>(topic: string, partition: number, context: string, retry: (e: EngineError) => boolean, send: (broker: KjsBroker) => Promise<T>): Promise<T> {
    const { retries, initialRetryTime, maxRetryTime } = this.options.retry;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        // Inside the retry: after a timeout the refresh shares the slow connection and may time out too.
        const meta = await this.metadata.requirePartition(topic, partition);
        if (meta.leader < 0) throw new EngineError('LEADER_NOT_AVAILABLE', `${topic}-${partition} has no leader`);
        const broker = await this.leader(meta.leader);
        return await send(broker);
      } catch (err) {
        const error = toEngineError(err, context);
        const backoff = initialRetryTime * 2 ** attempt * (0.8 + Math.random() * 0.4);
        if (attempt >= retries || !retry(error) || Date.now() - started + backoff > maxRetryTime) throw error;
        this.metadata.invalidate();
        await delay(backoff);
      }
    }
  }

  private async leader(nodeId: number): Promise<KjsBroker> {
    try {
      return await this.cluster.findBroker({ nodeId });
    } catch (err) {
      if ((err as { name?: string }).name !== 'KafkaJSBrokerNotFound') throw err;
      await this.metadata.refresh();
      return this.cluster.findBroker({ nodeId });
    }
  }
}
