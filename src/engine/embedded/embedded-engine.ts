import type { Logger } from 'pino';
import { EngineError } from '../engine-error';
import {
  AppendOptions,
  AppendResult,
  BrokerDescription,
  EngineHealth,
  FetchCursorResponse,
  FetchRequest,
  FetchResponse,
  IsolationLevel,
  ListOffsetResult,
  NewTopic,
  OffsetSpec,
  ProducerIdBlock,
  ProducerRecord,
  StorageEngine,
  TopicDescription,
  TxnMarker,
} from '../storage-engine';
import { validateTopicConfigs } from '../topic-config';
import { assertCompressionTypeAvailable } from './codec/compression';
import { assertValidTopicName, isInternalTopic } from '../topic-name';
import { delayedCursorFetch, delayedFetch } from './delayed-fetch';
import { promises as fsp } from 'node:fs';
import { DataDirLock } from './data-dir-lock';
import { FileOps, nodeFileOps } from './file-ops';
import { LogManager, TopicLogs } from './log-manager';
import { PartitionLog } from './partition-log';
import { ProducerIdManager } from './producer-id-manager';

export interface EmbeddedEngineOptions {
  /** Where logs live; created if missing. */
  dataDir: string;
  /** Kafka's num.partitions: partitions of a topic created without a count. Default 1. */
  defaultPartitions?: number;
  /** How often retention runs (Kafka's log.retention.check.interval.ms). Default 300000. */
  retentionCheckIntervalMs?: number;
  /** How often recovery points are checkpointed (log.flush.offset.checkpoint.interval.ms). Default 60000. */
  recoveryPointCheckpointIntervalMs?: number;
  brokerId?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  /** Broker-level defaults for topic configs, by topic config name (e.g. retention.ms). */
  topicDefaults?: Record<string, string>;
  /** The clock for timestamps, segment.ms and retention.ms; tests inject one. */
  now?: () => number;
  /** The data-path file operations; tests inject counting or failing ones. */
  fileOps?: FileOps;
  /**
   * The Idempotency-Key window (at most a day, producer.id.expiration.ms): a producer id a caller
   * derived from a key is a duplicate within it and a new producer after it. Default a day.
   */
  callerProducerIdExpirationMs?: number;
}

const MAX_PARTITIONS = 100_000;

/**
 * The embedded storage engine: durable partition logs on local disk in Kafka's record batch v2
 * format (see partition-log.ts for the write path and log-loader.ts for recovery). Public methods
 * validate and normalise, then hand over to the log manager and the partition logs.
 */
export class EmbeddedEngine implements StorageEngine {
  readonly name = 'embedded' as const;
  /** Any producer id is kept as given (partition-log.ts), also ids callers derive (CALLER_PRODUCER_ID_BASE and up). */
  readonly honoursCallerProducerIds = true;
  private readonly manager: LogManager;
  private readonly defaultPartitions: number;
  private readonly brokerId: number;
  private readonly producerIds: ProducerIdManager;
  private readonly lock: DataDirLock;
  private state: 'new' | 'starting' | 'started' | 'closed' = 'new';

  constructor(
    private readonly options: EmbeddedEngineOptions,
    private readonly logger: Logger,
  ) {
    const topicDefaults = options.topicDefaults ?? {};
    validateTopicConfigs(topicDefaults);
    assertCompressionTypeAvailable(topicDefaults['compression.type']);
    this.defaultPartitions = options.defaultPartitions ?? 1;
    if (!Number.isInteger(this.defaultPartitions) || this.defaultPartitions < 1) {
      throw new EngineError('INVALID_PARTITIONS', `defaultPartitions must be a positive integer, got ${options.defaultPartitions}`);
    }
    this.brokerId = options.brokerId ?? 1;
    this.producerIds = new ProducerIdManager(options.dataDir);
    this.lock = new DataDirLock(options.dataDir);
    this.manager = new LogManager({
      dataDir: options.dataDir,
      ops: options.fileOps ?? nodeFileOps,
      now: options.now ?? Date.now,
      logger,
      topicDefaults,
      retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 300_000,
      recoveryPointCheckpointIntervalMs: options.recoveryPointCheckpointIntervalMs ?? 60_000,
      callerProducerIdExpirationMs: options.callerProducerIdExpirationMs,
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new EngineError('INVALID_REQUEST', `The engine cannot start: it is ${this.state}`);
    this.state = 'starting';
    await fsp.mkdir(this.options.dataDir, { recursive: true });
    await this.lock.acquire();
    try {
      await this.manager.start();
      await this.producerIds.load();
    } catch (err) {
      await this.lock.release();
      throw err;
    }
    this.state = 'started';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state !== 'new';
    this.state = 'closed';
    if (wasStarted) {
      await this.manager.close();
      await this.lock.release();
    }
  }

  health(): EngineHealth {
    const logs = this.state === 'started' ? this.manager.allLogs() : [];
    const offline = logs.filter((l) => l.isOffline).map((l) => `${l.topic}-${l.partition}`);
    return {
      status: this.state === 'started' && offline.length === 0 ? 'UP' : 'DOWN',
      details: { engine: this.name, state: this.state, dataDir: this.options.dataDir, partitions: logs.length, offlinePartitions: offline },
    };
  }

  private stateError(): EngineError | undefined {
    if (this.state === 'started') return undefined;
    if (this.state === 'closed') return new EngineError('ENGINE_CLOSED', 'The storage engine is closed');
    return new EngineError('BROKER_NOT_AVAILABLE', 'The storage engine is not started');
  }

  private assertStarted(): void {
    const error = this.stateError();
    if (error !== undefined) throw error;
  }

  async listTopics(): Promise<string[]> {
    this.assertStarted();
    return this.manager.topicNames().sort();
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    this.assertStarted();
    const t = this.manager.topic(topic);
    if (t === undefined) throw unknownTopic(topic);
    return this.describe(t);
  }

  private describe(t: TopicLogs): TopicDescription {
    const id = this.brokerId;
    return {
      name: t.meta.name,
      internal: isInternalTopic(t.meta.name),
      partitions: t.logs.map((log) => ({
        partition: log.partition,
        leader: id,
        replicas: [id],
        isr: [id],
        logStartOffset: log.logStartOffset,
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        sizeBytes: log.sizeInBytes(),
      })),
      configs: { ...t.effectiveConfigs },
    };
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    this.assertStarted();
    return this.manager.topic(topic)?.meta.partitions;
  }

  async createTopic(topic: NewTopic): Promise<TopicDescription> {
    this.assertStarted();
    assertValidTopicName(topic.name);
    const partitions = topic.partitions ?? this.defaultPartitions;
    assertPartitionCount(partitions);
    const rf = topic.replicationFactor;
    if (rf !== undefined && rf !== -1 && rf !== 1) {
      throw new EngineError('INVALID_REPLICATION_FACTOR', `Replication factor ${rf} is larger than the 1 available broker`);
    }
    const configs = topic.configs ?? {};
    validateTopicConfigs(configs);
    assertCompressionTypeAvailable(configs['compression.type']);
    const created = await this.manager.createTopic(topic.name, partitions, configs);
    this.logger.info({ topic: topic.name, partitions, configs }, 'created topic');
    return this.describe(created);
  }

  async createPartitions(topic: string, count: number): Promise<void> {
    this.assertStarted();
    assertPartitionCount(count);
    await this.manager.createPartitions(topic, count);
  }

  async alterTopicConfigs(topic: string, configs: Record<string, string | null>): Promise<void> {
    this.assertStarted();
    validateTopicConfigs(configs);
    assertCompressionTypeAvailable(configs['compression.type']);
    await this.manager.alterConfigs(topic, configs);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.assertStarted();
    await this.manager.deleteTopic(topic);
    this.logger.info({ topic }, 'deleted topic');
  }

  async brokers(): Promise<BrokerDescription[]> {
    return [{ id: this.brokerId, host: this.options.advertisedHost ?? 'localhost', port: this.options.advertisedPort ?? 8080 }];
  }

  /** Not async on purpose: the produce hot path gets the partition log's own promise. */
  append(topic: string, partition: number, records: ProducerRecord[], options: AppendOptions): Promise<AppendResult> {
    const error = this.stateError();
    if (error !== undefined) return Promise.reject(error);
    const acks = options.acks;
    if (acks !== 1 && acks !== -1 && acks !== 0) return Promise.reject(new EngineError('INVALID_REQUEST', `acks must be 0, 1 or -1, got ${String(acks)}`));
    const log = this.manager.log(topic, partition);
    if (log === undefined) return Promise.reject(unknownPartition(topic, partition));
    if (options.transactional === true) {
      // The partition's flag is durable before its first transactional batch: start-up then knows to rebuild its transactions.
      const flagging = log.transactions.ensureFlagged();
      if (flagging !== undefined) return flagging.then(() => log.append(records, acks, options.producer, true, options.valuesAreJson === true));
    }
    return log.append(records, acks, options.producer, options.transactional === true, options.valuesAreJson === true);
  }

  async writeTxnMarkers(markers: TxnMarker[]): Promise<void> {
    this.assertStarted();
    const writes: Promise<unknown>[] = [];
    for (const m of markers) {
      const log = this.manager.log(m.topic, m.partition);
      // A partition deleted with its topic has nothing left to end.
      if (log === undefined) continue;
      writes.push(log.writeTxnMarker(m.producerId, m.producerEpoch, m.commit, m.coordinatorEpoch));
    }
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  async allocateProducerIds(count: number): Promise<ProducerIdBlock> {
    this.assertStarted();
    return this.producerIds.allocate(count);
  }

  async fetch(request: FetchRequest): Promise<FetchResponse> {
    return delayedFetch(request, this.fetchableLogs(request));
  }

  async fetchCursors(request: FetchRequest): Promise<FetchCursorResponse> {
    return delayedCursorFetch(request, this.fetchableLogs(request));
  }

  /** Checks a fetch request; the logs it may read while the engine runs. */
  private fetchableLogs(request: FetchRequest): (topic: string, partition: number) => PartitionLog | undefined {
    this.assertStarted();
    if (!(request.maxBytes >= 0) || !(request.maxWaitMs >= 0)) {
      throw new EngineError('INVALID_REQUEST', 'maxBytes and maxWaitMs must be non-negative numbers');
    }
    return (t, p) => (this.state === 'started' ? this.manager.log(t, p) : undefined);
  }

  async listOffset(topic: string, partition: number, spec: OffsetSpec, isolationLevel?: IsolationLevel): Promise<ListOffsetResult> {
    this.assertStarted();
    const log = this.logOrThrow(topic, partition);
    if (spec === 'earliest') return { offset: log.logStartOffset, timestamp: -1 };
    if (spec === 'latest') return { offset: isolationLevel === 'read_committed' ? log.lastStableOffset : log.highWatermark, timestamp: -1 };
    const found = await log.offsetForTimestamp(spec.timestamp);
    return found ?? { offset: -1, timestamp: -1 };
  }

  private logOrThrow(topic: string, partition: number): PartitionLog {
    const log = this.manager.log(topic, partition);
    if (log === undefined) throw unknownPartition(topic, partition);
    return log;
  }

  // ---- beyond the StorageEngine contract: operations and tests ----

  /** Runs one retention pass now instead of waiting for the timer. */
  runRetention(): Promise<void> {
    this.assertStarted();
    return this.manager.runRetention();
  }

  /** Writes the recovery-point and log-start-offset checkpoints now. */
  checkpoint(): Promise<void> {
    this.assertStarted();
    return this.manager.checkpoint();
  }

  /** The partition log itself, for coordinators and tests that need more than the contract. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    return this.state === 'started' ? this.manager.log(topic, partition) : undefined;
  }
}

function assertPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new EngineError('INVALID_PARTITIONS', `Number of partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${count}`);
  }
}

function unknownTopic(topic: string): EngineError {
  return new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${topic}' not found`);
}

function unknownPartition(topic: string, partition: number): EngineError {
  return new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${partition} of topic '${topic}' not found`);
}
