import type { Logger } from 'pino';
import { ApiError } from '../errors';
import { EngineError } from '../engine/engine-error';
import type { Acks, ProducerRecord, StorageEngine } from '../engine/storage-engine';
import { isInternalTopic, topicNameProblem } from '../engine/topic-name';
import type { DefaultPartitioner } from '../engine/partitioner';

export interface ProduceInput extends ProducerRecord {
  /** Explicit partition from the record or the path; wins over the key. */
  partition?: number;
}

export interface ProduceOutcome {
  partition: number;
  /** -1 for acks=0: the request does not wait to learn it. */
  offset: number;
  timestamp: number;
}

export interface ProduceSettings {
  autoCreateTopics: boolean;
  numPartitions: number;
}

/** Per-record bytes a v2 record can take beyond key, value and header bytes (varint worst cases). */
const RECORD_OVERHEAD_BOUND = 1 + 5 + 10 + 5 + 5 + 5 + 5;
const HEADER_OVERHEAD_BOUND = 5 + 5;
const BATCH_HEADER_SIZE = 61;
const MAX_MESSAGE_BYTES_TTL_MS = 5000;

/**
 * Produce, engine-agnostic: resolves the topic (creating it when auto.create.topics.enable is on),
 * picks each record's partition as Kafka's default partitioner does (explicit, else murmur2 of the
 * key, else sticky), appends one batch per partition, and returns the outcome of each record in
 * request order.
 *
 * All-or-nothing for a request: every check that can refuse it (topic, partitions, batch size
 * against max.message.bytes) runs before the first append; a single-partition request is one
 * engine append, which is atomic.
 */
export class ProduceService {
  private readonly maxMessageBytes = new Map<string, { value: number; until: number }>();

  constructor(
    private readonly engine: StorageEngine,
    private readonly partitioner: DefaultPartitioner,
    private readonly settings: ProduceSettings,
    private readonly logger: Logger,
  ) {}

  async produce(topic: string, records: ProduceInput[], acks: Acks): Promise<ProduceOutcome[]> {
    if (records.length === 0) throw new ApiError('NO_RECORDS', 'The request carries no records');
    const partitionCount = await this.resolveTopic(topic);

    // Group records by partition, remembering where each came from.
    const groups = new Map<number, { records: ProducerRecord[]; indexes: number[] }>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as ProduceInput;
      let p = r.partition;
      if (p === undefined) {
        p = this.partitioner.partition(topic, r.key, partitionCount, recordBytes(r));
      } else if (p >= partitionCount) {
        throw new ApiError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${topic}' not found (the topic has ${partitionCount})`);
      }
      let g = groups.get(p);
      if (g === undefined) groups.set(p, (g = { records: [], indexes: [] }));
      g.records.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
      g.indexes.push(i);
    }
    if (groups.size > 1) await this.checkBatchSizes(topic, groups);

    const outcomes = new Array<ProduceOutcome>(records.length);
    const appends = [...groups].map(async ([partition, g]) => {
      const pending = this.engine.append(topic, partition, g.records, { acks });
      if (acks === 0) {
        pending.catch((err: unknown) => this.logger.warn({ err, topic, partition }, 'acks=0 append failed'));
        g.indexes.forEach((i) => (outcomes[i] = { partition, offset: -1, timestamp: -1 }));
        return;
      }
      const result = await pending.catch((err: unknown) => {
        throw err instanceof EngineError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION'
          ? new ApiError('PARTITION_NOT_FOUND', err.message, { cause: err })
          : err;
      });
      g.indexes.forEach((i, n) => (outcomes[i] = { partition, offset: result.baseOffset + n, timestamp: result.timestamp }));
    });
    await Promise.all(appends);
    return outcomes;
  }

  /** Partition count of the topic, creating the topic when allowed. */
  private async resolveTopic(topic: string): Promise<number> {
    const problem = topicNameProblem(topic);
    if (problem !== undefined) throw new ApiError('INVALID_TOPIC_NAME', problem);
    if (isInternalTopic(topic)) throw new ApiError('INTERNAL_TOPIC', `Topic '${topic}' is internal and cannot be written`);
    const count = await this.engine.partitionCount(topic);
    if (count !== undefined) return count;
    if (!this.settings.autoCreateTopics) throw new ApiError('TOPIC_NOT_FOUND', `Topic '${topic}' not found`);
    try {
      const created = await this.engine.createTopic({ name: topic, partitions: this.settings.numPartitions });
      this.logger.info({ topic, partitions: created.partitions.length }, 'topic auto-created on first produce');
      return created.partitions.length;
    } catch (err) {
      if (err instanceof EngineError && err.code === 'TOPIC_ALREADY_EXISTS') {
        return (await this.engine.partitionCount(topic)) ?? this.settings.numPartitions;
      }
      throw err;
    }
  }

  /**
   * A request spanning several partitions is several appends; refuse it up front when any batch
   * could exceed max.message.bytes, so that none of them is written. The bound is a few bytes per
   * record above the exact size, so this can refuse slightly before the engine would.
   */
  private async checkBatchSizes(topic: string, groups: Map<number, { records: ProducerRecord[] }>): Promise<void> {
    const limit = await this.maxMessageBytesOf(topic);
    for (const [partition, g] of groups) {
      let bound = BATCH_HEADER_SIZE;
      for (const r of g.records) bound += recordBytes(r);
      if (bound > limit) {
        throw new ApiError(
          'RECORD_TOO_LARGE',
          `The batch for partition ${partition} of '${topic}' may be up to ${bound} bytes, over max.message.bytes ${limit}; nothing was written`,
        );
      }
    }
  }

  private async maxMessageBytesOf(topic: string): Promise<number> {
    const now = Date.now();
    const cached = this.maxMessageBytes.get(topic);
    if (cached !== undefined && cached.until > now) return cached.value;
    const description = await this.engine.describeTopic(topic);
    const value = Number(description.configs['max.message.bytes']);
    this.maxMessageBytes.set(topic, { value, until: now + MAX_MESSAGE_BYTES_TTL_MS });
    return value;
  }
}

/** An upper bound of the record's encoded size in a v2 batch. */
function recordBytes(r: ProducerRecord): number {
  let n = RECORD_OVERHEAD_BOUND + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers !== undefined) {
    for (const h of r.headers) n += HEADER_OVERHEAD_BOUND + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  }
  return n;
}
