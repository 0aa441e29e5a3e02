import type { Logger } from 'pino';
import { ApiError } from '../errors';
import { EngineError } from '../engine/engine-error';
import type { Acks, AppendResult, ProducerRecord, StorageEngine } from '../engine/storage-engine';
import { isInternalTopic, topicNameProblem } from '../engine/topic-name';
import type { DefaultPartitioner } from '../engine/partitioner';
import { ProducerLane, ProducerLanes } from './idempotency/producer-lanes';

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
  /** Resends of an append that failed with a retriable engine error (only with a producer identity: the engine answers a resend that already landed as a duplicate). Default 2. */
  retries?: number;
  /** Base backoff between resends, ms, jittered. Default 25. */
  retryBackoffMs?: number;
}

/** The records of one request bound for one partition, in request order. */
export interface PartitionBatch {
  partition: number;
  records: ProducerRecord[];
  /** Where each record stands in the request. */
  indexes: number[];
}

/** A validated request: its topic exists and every record has its partition. Nothing is appended yet. */
export interface ProducePlan {
  topic: string;
  recordCount: number;
  batches: PartitionBatch[];
  /** Every record's value is null or checked JSON text (see markValuesJson): told to the engine. */
  valuesAreJson?: boolean;
}

/** Record lists whose every value is null or JSON text the caller checked (see markValuesJson). */
const jsonValued = new WeakSet<readonly ProduceInput[]>();

/**
 * Marks a request's records as having only null or JSON-text values, checked by the caller (the
 * json embedded format's body scanner): their appends tell the engine so (AppendOptions.valuesAreJson),
 * which may then spare json reads the check. The list itself is marked, not a flag beside it, so
 * that every path from the route to `plan` (idempotent sends too) carries it unchanged.
 */
export function markValuesJson(records: readonly ProduceInput[]): void {
  jsonValued.add(records);
}

/**
 * How a sent request's appends ended: `ok`; `refused` (the engine appended nothing, for sure); or
 * `unknown` (a failure after which a batch may or may not be in the log).
 */
export type SendSettlement = 'ok' | 'refused' | 'unknown';

export interface ProduceSend {
  /** The outcome of each record in request order; for acks=0 at once, with offsets -1. */
  done: Promise<ProduceOutcome[]>;
  /** Resolves (never rejects) once every append has ended, also for acks=0. */
  settled: Promise<SendSettlement>;
}

/**
 * A send whose `settled` is built when first asked for: a keyed request that succeeds never asks
 * (idempotent-producer.ts), and Promise.allSettled with its handlers is work on every request.
 */
class Sent implements ProduceSend {
  private settledOnce: Promise<SendSettlement> | undefined;

  constructor(
    readonly done: Promise<ProduceOutcome[]>,
    private readonly appends: Promise<void>[],
    private readonly settlementOf: () => SendSettlement,
  ) {}

  get settled(): Promise<SendSettlement> {
    return (this.settledOnce ??= Promise.allSettled(this.appends).then(this.settlementOf));
  }
}

/** Engine errors that mean the batch was refused before anything was written. */
const REFUSED: ReadonlySet<string> = new Set(['INVALID_REQUEST', 'INVALID_RECORD', 'RECORD_TOO_LARGE', 'UNKNOWN_TOPIC_OR_PARTITION']);

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
 *
 * Every request is an idempotent producer's send where the engine keeps producer state: it takes a
 * lane (a producer id, see producer-lanes.ts) and its appends carry the lane's sequences, so a
 * resend after a retriable error never writes a record twice. `send` issues every append before it
 * returns, so requests reach each partition in the order they were sent (async produce relies on it).
 */
export class ProduceService {
  private readonly maxMessageBytes = new Map<string, { value: number; until: number }>();
  readonly lanes: ProducerLanes;

  constructor(
    private readonly engine: StorageEngine,
    private readonly partitioner: DefaultPartitioner,
    private readonly settings: ProduceSettings,
    private readonly logger: Logger,
  ) {
    this.lanes = new ProducerLanes(engine);
  }

  async produce(topic: string, records: ProduceInput[], acks: Acks): Promise<ProduceOutcome[]> {
    return (await this.start(topic, records, acks)).done;
  }

  /** Plans, takes a lane and sends; resolves once every append is issued (see `send`). */
  async start(topic: string, records: ProduceInput[], acks: Acks): Promise<ProduceSend> {
    const plan = await this.plan(topic, records);
    const lane = await this.lanes.acquire();
    const sent = this.send(plan, acks, lane);
    if (lane !== undefined) {
      void sent.settled.then((s) => (s === 'unknown' ? this.lanes.retire(lane) : this.lanes.release(lane)));
    }
    return sent;
  }

  /** The engine keeps a producer identity the caller derived itself (see StorageEngine.honoursCallerProducerIds). */
  get honoursCallerProducerIds(): boolean {
    return this.engine.honoursCallerProducerIds === true;
  }

  /**
   * Every check that can refuse the request, and each record's partition; `assignment` (a partition
   * per record) replaces the partitioner, so that a resumed request lands where its first attempt did.
   * `keylessSeed` sends records without key or partition to partition seed % count rather than the
   * sticky one, so that a retry that knows nothing of the first attempt lands where it did.
   */
  async plan(topic: string, records: ProduceInput[], assignment?: number[], keylessSeed?: number): Promise<ProducePlan> {
    if (records.length === 0) throw new ApiError('NO_RECORDS', 'The request carries no records');
    const partitionCount = await this.resolveTopic(topic);
    const groups = new Map<number, PartitionBatch>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as ProduceInput;
      let p = assignment?.[i] ?? r.partition;
      if (p === undefined && keylessSeed !== undefined && (r.key === null || r.key === undefined)) {
        p = keylessSeed % partitionCount;
      } else if (p === undefined) {
        const key = typeof r.key === 'string' ? Buffer.from(r.key, 'utf8') : r.key;
        p = this.partitioner.partition(topic, key, partitionCount, recordBytes(r));
      } else if (p >= partitionCount) {
        throw new ApiError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${topic}' not found (the topic has ${partitionCount})`);
      }
      let g = groups.get(p);
      if (g === undefined) groups.set(p, (g = { partition: p, records: [], indexes: [] }));
      // the record itself, not a copy without `partition`: engines read only ProducerRecord's fields
      g.records.push(r);
      g.indexes.push(i);
    }
    if (groups.size > 1) await this.checkBatchSizes(topic, groups);
    return { topic, recordCount: records.length, batches: [...groups.values()], valuesAreJson: jsonValued.has(records) };
  }

  /**
   * Issues one append per partition now, with the lane's next sequences, and advances the lane for
   * each append that succeeds. The caller owns the lane: it hands it back once `settled` resolves.
   */
  send(plan: ProducePlan, acks: Acks, lane?: ProducerLane): ProduceSend {
    const { topic } = plan;
    const outcomes = new Array<ProduceOutcome>(plan.recordCount);
    let settlement: SendSettlement = 'ok';
    const appends = plan.batches.map((g) =>
      this.appendBatch(topic, g, acks, lane, plan.valuesAreJson === true).then(
        (result) => {
          lane?.advance(topic, g.partition, g.records.length);
          g.indexes.forEach((i, n) => (outcomes[i] = { partition: g.partition, offset: result.baseOffset + n, timestamp: result.timestamp }));
        },
        (err: unknown) => {
          const refused = err instanceof EngineError && REFUSED.has(err.code);
          if (!refused) settlement = 'unknown';
          else if (settlement === 'ok') settlement = 'refused';
          throw err instanceof EngineError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION'
            ? new ApiError('PARTITION_NOT_FOUND', err.message, { cause: err })
            : err;
        },
      ),
    );
    const settlementOf = (): SendSettlement => settlement;
    if (acks === 0) {
      appends.forEach((a, n) => a.catch((err: unknown) => this.logger.warn({ err, topic, partition: plan.batches[n].partition }, 'acks=0 append failed')));
      for (const g of plan.batches) g.indexes.forEach((i) => (outcomes[i] = { partition: g.partition, offset: -1, timestamp: -1 }));
      return new Sent(Promise.resolve(outcomes), appends, settlementOf);
    }
    // `done` handles every append's rejection, so `settled` may wait to be asked for.
    return new Sent(
      Promise.all(appends).then(() => outcomes),
      appends,
      settlementOf,
    );
  }

  /** The engine's append, called synchronously; resent with the same identity after a retriable error. */
  private async appendBatch(topic: string, g: PartitionBatch, acks: Acks, lane: ProducerLane | undefined, valuesAreJson: boolean): Promise<AppendResult> {
    const producer =
      lane === undefined ? undefined : { producerId: lane.producerId, producerEpoch: lane.producerEpoch, baseSequence: lane.nextSequence(topic, g.partition) };
    const retries = producer === undefined ? 0 : (this.settings.retries ?? 2);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.engine.append(topic, g.partition, g.records, valuesAreJson ? { acks, producer, valuesAreJson } : { acks, producer });
      } catch (err) {
        if (attempt >= retries || !(err instanceof EngineError) || !err.retriable) throw err;
        const backoff = (this.settings.retryBackoffMs ?? 25) * 2 ** attempt;
        this.logger.debug({ err, topic, partition: g.partition, attempt }, 'resending an append after a retriable error');
        await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * backoff));
      }
    }
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
  private async checkBatchSizes(topic: string, groups: Map<number, PartitionBatch>): Promise<void> {
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

function dataBytes(data: Buffer | string | null): number {
  if (data === null) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

/** An upper bound of the record's encoded size in a v2 batch. */
function recordBytes(r: ProducerRecord): number {
  let n = RECORD_OVERHEAD_BOUND + dataBytes(r.key) + dataBytes(r.value);
  if (r.headers !== undefined) {
    for (const h of r.headers) n += HEADER_OVERHEAD_BOUND + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  }
  return n;
}
