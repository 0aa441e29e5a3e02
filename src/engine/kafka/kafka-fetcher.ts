import type { Logger } from 'pino';
import { EngineError } from '../engine-error';
import type { FetchPartition, FetchPartitionResult, FetchRequest, FetchResponse } from '../storage-engine';
import { toEngineError } from './kafka-error-mapping';
import type { KafkaMetadata } from './kafka-metadata';
import { decodePartitionRecords } from './kafka-records';
import { delay } from './delay';
import { ISOLATION, type KjsBroker, type KjsCluster, type KjsFetchResponse } from './kafkajs-internals';

/**
 * The fetch path: one Fetch request per partition leader, sent with kafkajs's Broker layer (see
 * kafkajs-internals.ts for why not its consumer). Stateless: every call names its offsets, so a
 * response that arrives after the call returned is simply dropped and fetched again next time.
 *
 * A long poll of maxWaitMs is a series of broker fetches of at most fetchMaxWaitMs each, as a Kafka
 * consumer's poll() is: the broker itself waits for data (event driven, no client-side polling),
 * and a broker that answers only at the end of its wait costs at most fetchMaxWaitMs of latency.
 * The call returns as soon as any leader returned records (at least minBytes of them), or at the
 * deadline, or when the signal aborts.
 *
 * Connections: a broker answers one connection's requests in order, so a waiting fetch delays the
 * next one on its connection. Fetches spread over `sessions` (each a kafkajs Cluster with its own
 * fetch connection per broker), least busy first.
 */
interface Session {
  cluster: KjsCluster;
  inflight: number;
}

interface Watermarks {
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

type Outcome = { leader: number; parts: FetchPartition[]; response?: KjsFetchResponse; error?: EngineError };

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class KafkaFetcher {
  private readonly sessions: Session[];
  /** Last watermarks seen per partition, for partitions whose answer did not arrive in time. */
  private readonly watermarks = new Map<string, Watermarks>();

  constructor(
    clusters: KjsCluster[],
    private readonly metadata: KafkaMetadata,
    private readonly options: { fetchMaxWaitMs: number; retryBackoffMs: number },
    private readonly logger: Logger,
  ) {
    this.sessions = clusters.map((cluster) => ({ cluster, inflight: 0 }));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.sessions.map((s) => s.cluster.disconnect()));
  }

  async fetch(request: FetchRequest): Promise<FetchResponse> {
    const deadline = Date.now() + Math.max(0, request.maxWaitMs);
    const results = new Map<string, FetchPartitionResult>();
    const lastErrors = new Map<string, EngineError>();
    let active: FetchPartition[] = [];
    for (const p of request.partitions) {
      try {
        if (!Number.isInteger(p.offset) || p.offset < 0) throw new EngineError('OFFSET_OUT_OF_RANGE', `Offset ${p.offset} is not a valid offset`);
        await this.metadata.requirePartition(p.topic, p.partition);
        // A copy: its offset moves past control and aborted records that a round skipped.
        active.push({ ...p });
      } catch (err) {
        results.set(key(p.topic, p.partition), this.emptyResult(p, toEngineError(err)));
      }
    }

    let budget = Math.max(0, request.maxBytes);
    let returned = 0;
    while (active.length > 0 && request.signal?.aborted !== true) {
      const wait = Math.max(0, Math.min(this.options.fetchMaxWaitMs, deadline - Date.now()));
      const outcomes = await this.fetchOnce(active, request, wait);
      let retriableFailure = false;
      for (const outcome of outcomes) {
        if (outcome.error !== undefined) {
          retriableFailure ||= this.recordFailure(outcome, results, lastErrors);
          continue;
        }
        for (const topic of outcome.response?.responses ?? []) {
          for (const part of topic.partitions) {
            const requested = outcome.parts.find((p) => p.topic === topic.topicName && p.partition === part.partition);
            if (requested === undefined) continue;
            const marks: Watermarks = {
              highWatermark: Number(part.highWatermark),
              lastStableOffset: part.lastStableOffset !== undefined && part.lastStableOffset !== '-1' ? Number(part.lastStableOffset) : Number(part.highWatermark),
              logStartOffset: part.lastStartOffset !== undefined ? Number(part.lastStartOffset) : -1,
            };
            this.watermarks.set(key(requested.topic, requested.partition), marks);
            const decoded = decodePartitionRecords(
              requested.topic,
              requested.partition,
              requested.offset,
              part.messages,
              part.abortedTransactions ?? [],
              request.isolationLevel,
              Math.min(budget, requested.maxBytes ?? budget),
              returned === 0,
            );
            budget = Math.max(0, budget - decoded.bytes);
            returned += decoded.records.length;
            lastErrors.delete(key(requested.topic, requested.partition));
            results.set(key(requested.topic, requested.partition), { topic: requested.topic, partition: requested.partition, records: decoded.records, nextOffset: decoded.nextOffset, ...marks });
            requested.offset = decoded.nextOffset;
          }
        }
      }
      active = active.filter((p) => results.get(key(p.topic, p.partition))?.error === undefined);
      if (returned > 0 || Date.now() >= deadline) break;
      if (retriableFailure) await delay(Math.min(this.options.retryBackoffMs, Math.max(0, deadline - Date.now())), request.signal);
    }

    return {
      partitions: request.partitions.map((p) => {
        const k = key(p.topic, p.partition);
        const error = lastErrors.get(k);
        return results.get(k) ?? this.emptyResult(p, error);
      }),
    };
  }

  /** One round: a Fetch to every leader at once; returns when enough data came, all answered, or abort. */
  private async fetchOnce(active: FetchPartition[], request: FetchRequest, wait: number): Promise<Outcome[]> {
    const view = await this.metadata.current();
    if (request.signal?.aborted === true) return [];
    const byLeader = new Map<number, FetchPartition[]>();
    for (const p of active) {
      const leader = view.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const outcomes: Outcome[] = [];
    const minBytes = Math.max(1, request.minBytes ?? 1);
    return new Promise<Outcome[]>((resolve) => {
      let pending = byLeader.size;
      let bytesSeen = 0;
      const finish = (): void => {
        request.signal?.removeEventListener('abort', finish);
        resolve([...outcomes]);
      };
      request.signal?.addEventListener('abort', finish, { once: true });
      for (const [leader, parts] of byLeader) {
        void this.fetchFromLeader(leader, parts, request, wait).then((outcome) => {
          outcomes.push(outcome);
          bytesSeen += responseBytes(outcome.response);
          pending--;
          if (pending === 0 || bytesSeen >= minBytes) finish();
        });
      }
    });
  }

  private async fetchFromLeader(leader: number, parts: FetchPartition[], request: FetchRequest, wait: number): Promise<Outcome> {
    if (leader < 0) return { leader, parts, error: new EngineError('LEADER_NOT_AVAILABLE', `No leader for ${describe(parts)}`) };
    const session = this.sessions.reduce((best, s) => (s.inflight < best.inflight ? s : best));
    session.inflight++;
    try {
      const broker = await this.brokerOf(session.cluster, leader);
      const topics = new Map<string, Array<{ partition: number; fetchOffset: string; maxBytes: number }>>();
      for (const p of parts) {
        const entry = { partition: p.partition, fetchOffset: String(p.offset), maxBytes: Math.max(1, p.maxBytes ?? request.maxBytes) };
        topics.set(p.topic, [...(topics.get(p.topic) ?? []), entry]);
      }
      const response = await broker.fetch({
        isolationLevel: ISOLATION[request.isolationLevel],
        maxWaitTime: wait,
        minBytes: Math.max(1, request.minBytes ?? 1),
        maxBytes: Math.max(1, request.maxBytes),
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      });
      return { leader, parts, response };
    } catch (err) {
      return { leader, parts, error: toEngineError(err, `fetch ${describe(parts)} from broker ${leader}`) };
    } finally {
      session.inflight--;
    }
  }

  private async brokerOf(cluster: KjsCluster, nodeId: number): Promise<KjsBroker> {
    if (cluster.brokerPool.metadata === null) await cluster.refreshMetadata();
    try {
      return await cluster.findBroker({ nodeId });
    } catch (err) {
      if ((err as { name?: string }).name !== 'KafkaJSBrokerNotFound') throw err;
      await cluster.refreshMetadata();
      return cluster.findBroker({ nodeId });
    }
  }

  /**
   * A broker's Fetch answer fails as a whole when any partition has an error (kafkajs's parser), and
   * only OFFSET_OUT_OF_RANGE names its partition: that one gets the error, the others go again.
   * Other retriable errors stay pending (metadata is refreshed) until the deadline; the rest are final.
   * Returns whether a retry should back off.
   */
  private recordFailure(outcome: Outcome, results: Map<string, FetchPartitionResult>, lastErrors: Map<string, EngineError>): boolean {
    const error = outcome.error!;
    const cause = error.cause as { name?: string; topic?: string; partition?: number } | undefined;
    if (error.code === 'OFFSET_OUT_OF_RANGE' && cause?.topic !== undefined) {
      const p = outcome.parts.find((x) => x.topic === cause.topic && x.partition === cause.partition);
      if (p !== undefined) {
        results.set(key(p.topic, p.partition), this.emptyResult(p, error));
        return false;
      }
    }
    if (error.retriable) {
      this.metadata.invalidate();
      this.logger.debug({ err: error, leader: outcome.leader }, 'fetch failed, retrying within the wait');
      for (const p of outcome.parts) lastErrors.set(key(p.topic, p.partition), error);
      return true;
    }
    for (const p of outcome.parts) results.set(key(p.topic, p.partition), this.emptyResult(p, error));
    return false;
  }

  private emptyResult(p: FetchPartition, error?: EngineError): FetchPartitionResult {
    const marks = this.watermarks.get(key(p.topic, p.partition)) ?? { highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 };
    return { topic: p.topic, partition: p.partition, records: [], nextOffset: p.offset, ...marks, ...(error === undefined ? {} : { error }) };
  }
}

function describe(parts: FetchPartition[]): string {
  return parts.map((p) => `${p.topic}-${p.partition}`).join(',');
}

/** Payload bytes in a response (keys and values), to compare with minBytes. */
function responseBytes(response: KjsFetchResponse | undefined): number {
  let bytes = 0;
  for (const t of response?.responses ?? []) {
    for (const p of t.partitions) for (const m of p.messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 1;
  }
  return bytes;
}
