import { Kafka, type Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { EngineError } from '../engine-error';
import type {
  AppendOptions,
  AppendResult,
  BrokerDescription,
  EngineHealth,
  FetchRequest,
  FetchResponse,
  IsolationLevel,
  ListOffsetResult,
  NewTopic,
  OffsetSpec,
  PartitionDescription,
  ProducerRecord,
  StorageEngine,
  TopicDescription,
} from '../storage-engine';
import { KafkaConnectivity } from './kafka-connectivity';
import { kafkajsClientConfig, resolveKafkaEngineOptions, type KafkaEngineOptions, type ResolvedKafkaEngineOptions } from './kafka-engine-options';
import { toEngineError } from './kafka-error-mapping';
import { KafkaFetcher } from './kafka-fetcher';
import { EARLIEST_TIMESTAMP, KafkaLeaderClient, LATEST_TIMESTAMP } from './kafka-leader-client';
import { kafkajsLogLevelFor, pinoLogCreator } from './kafka-log-creator';
import { KafkaGroupCoordinator, type KafkaGroupCoordinatorOptions } from './kafka-group-coordinator';
import { KafkaMetadata } from './kafka-metadata';
import { KafkaTopicAdmin } from './kafka-topic-admin';
import { KafkaAppender } from './kafka-appender';
import { KafkaProducerPool } from './kafka-producer-pool';
import { KafkaTransactionCoordinator, type KafkaTransactionCoordinatorOptions } from './kafka-transaction-coordinator';
import { createKafkajsCluster, type KjsCluster } from './kafkajs-internals';

/**
 * The kafka engine: Basket's StorageEngine in front of an Apache Kafka cluster, through kafkajs.
 *
 * Parts: a metadata view (brokers, controller, leaders) and leader-routed Produce/ListOffsets on one
 * kafkajs Cluster ("control"), appends with idempotent producer ids (KafkaAppender, KafkaProducerPool); fetches on `fetchConnections` further Clusters (KafkaFetcher); topic
 * admin on kafkajs's admin client (KafkaTopicAdmin); reachability in KafkaConnectivity.
 *
 * Invariants: every public method throws only EngineError; while the cluster is unreachable every
 * call fails at once with a retriable BROKER_NOT_AVAILABLE (and health() is DOWN) while a background
 * loop reconnects; start() never waits longer than one connection attempt; no request of this engine
 * ever creates a topic implicitly (metadata requests are sent with auto-creation off).
 */
export class KafkaEngine implements StorageEngine {
  readonly name = 'kafka' as const;
  /** Kafka's brokers keep every producer's state and drop a repeated batch, whoever chose the id (KafkaAppender). */
  readonly honoursCallerProducerIds = true;
  private readonly options: ResolvedKafkaEngineOptions;
  private readonly control: KjsCluster;
  private readonly fetchClusters: KjsCluster[];
  private readonly admin: Admin;
  private readonly metadata: KafkaMetadata;
  private readonly leaders: KafkaLeaderClient;
  private readonly appender: KafkaAppender;
  /** The engine's idempotent producers (undefined when idempotence is off); exposed for tests and metrics. */
  readonly producers: KafkaProducerPool | undefined;
  private readonly fetcher: KafkaFetcher;
  private readonly topicAdmin: KafkaTopicAdmin;
  private readonly connectivity: KafkaConnectivity;
  private closed = false;
  /** A kafkajs Cluster with this engine's settings, for a group coordinator on the same cluster. */
  private readonly newCluster: (clientId?: string) => KjsCluster;
  private readonly log: Logger;

  constructor(options: KafkaEngineOptions, logger: Logger) {
    this.options = resolveKafkaEngineOptions(options);
    const log = logger.child({ engine: 'kafka' });
    const kafkajsLog = log.child({ component: 'kafkajs' });
    const level = kafkajsLogLevelFor(kafkajsLog);
    const creator = pinoLogCreator(kafkajsLog);
    this.log = log;
    this.newCluster = (clientId) => createKafkajsCluster(clientId === undefined ? this.options : { ...this.options, clientId }, level, creator);
    this.control = createKafkajsCluster(this.options, level, creator);
    this.fetchClusters = Array.from({ length: this.options.fetchConnections }, () => createKafkajsCluster(this.options, level, creator));
    const kafka = new Kafka({ ...kafkajsClientConfig(this.options), logLevel: level, logCreator: creator });
    this.admin = kafka.admin({ retry: this.options.retry });
    this.metadata = new KafkaMetadata(this.control, this.options.metadataMaxAgeMs);
    this.leaders = new KafkaLeaderClient(this.control, this.metadata, this.options);
    this.producers = this.options.idempotence ? new KafkaProducerPool(this.control, this.metadata, log.child({ component: 'producer-ids' })) : undefined;
    this.appender = new KafkaAppender(this.leaders, this.producers);
    this.fetcher = new KafkaFetcher(this.fetchClusters, this.metadata, { fetchMaxWaitMs: this.options.fetchMaxWaitMs, retryBackoffMs: this.options.retry.initialRetryTime }, log);
    this.topicAdmin = new KafkaTopicAdmin(this.admin, this.metadata, this.options.requestTimeout);
    this.connectivity = new KafkaConnectivity(
      async () => {
        await this.control.connect();
        await this.metadata.refresh();
        await this.admin.connect();
      },
      log,
      { initialMs: this.options.reconnectBackoffMs, maxMs: this.options.reconnectBackoffMaxMs },
      this.options.brokers,
    );
  }

  async start(): Promise<void> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'The kafka engine is closed');
    await this.connectivity.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connectivity.close();
    await Promise.allSettled([this.admin.disconnect(), this.control.disconnect(), this.fetcher.close()]);
  }

  /**
   * Kafka's own group coordinator for this cluster, with this engine's connection settings; its
   * calls fail at once while the engine finds the cluster unreachable. The caller starts and closes it.
   */
  groupCoordinator(options: KafkaGroupCoordinatorOptions = {}): KafkaGroupCoordinator {
    return new KafkaGroupCoordinator(
      {
        newCluster: this.newCluster,
        partitionCounts: async (topics) => {
          const counts: Record<string, number> = {};
          for (const t of topics) {
            const n = await this.partitionCount(t);
            if (n !== undefined) counts[t] = n;
          }
          return counts;
        },
        assertUp: () => this.connectivity.assertUp(),
        logger: this.log.child({ component: 'group-coordinator' }),
      },
      options,
    );
  }

  /**
   * Basket's transaction coordinator on Kafka's own, with this engine's connection settings; its
   * calls fail at once while the engine finds the cluster unreachable. The caller starts and closes it.
   */
  transactionCoordinator(options: KafkaTransactionCoordinatorOptions = {}): KafkaTransactionCoordinator {
    return new KafkaTransactionCoordinator(
      { engine: this, newCluster: this.newCluster, assertUp: () => this.connectivity.assertUp(), logger: this.log.child({ component: 'transaction-coordinator' }) },
      options,
    );
  }

  health(): EngineHealth {
    return this.connectivity.health();
  }

  listTopics(): Promise<string[]> {
    return this.call('list topics', async () => {
      const view = await this.metadata.refresh();
      return [...view.topics.values()].filter((t) => !t.internal).map((t) => t.name).sort();
    });
  }

  describeTopic(topic: string): Promise<TopicDescription> {
    return this.call(`describe topic '${topic}'`, async () => {
      const view = await this.metadata.refresh();
      const meta = view.topics.get(topic);
      if (meta === undefined) throw new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${topic}' not found`);
      const ids = meta.partitions.map((p) => p.partitionId);
      const [earliest, latest, stable, configs] = await Promise.all([
        this.leaders.listOffsets(topic, ids, EARLIEST_TIMESTAMP, 'read_uncommitted'),
        this.leaders.listOffsets(topic, ids, LATEST_TIMESTAMP, 'read_uncommitted'),
        this.leaders.listOffsets(topic, ids, LATEST_TIMESTAMP, 'read_committed'),
        this.topicAdmin.describeConfigs(topic),
      ]);
      const partitions: PartitionDescription[] = meta.partitions.map((p, i) => ({
        partition: p.partitionId,
        leader: p.leader,
        replicas: [...p.replicas],
        isr: [...p.isr],
        logStartOffset: earliest[i].offset,
        highWatermark: latest[i].offset,
        lastStableOffset: stable[i].offset,
        // Kafka reports sizes through DescribeLogDirs, which kafkajs does not have.
        sizeBytes: -1,
      }));
      return { name: topic, internal: meta.internal, partitions, configs: configs ?? {} };
    });
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    return this.call(`partition count of '${topic}'`, async () => (await this.metadata.topic(topic))?.partitions.length);
  }

  async createTopic(topic: NewTopic): Promise<TopicDescription> {
    await this.call(`create topic '${topic.name}'`, () => this.topicAdmin.createTopic(topic));
    return this.describeTopic(topic.name);
  }

  createPartitions(topic: string, count: number): Promise<void> {
    return this.call(`grow topic '${topic}' to ${count} partitions`, () => this.topicAdmin.createPartitions(topic, count));
  }

  alterTopicConfigs(topic: string, configs: Record<string, string | null>): Promise<void> {
    return this.call(`alter configs of '${topic}'`, () => this.topicAdmin.alterTopicConfigs(topic, configs));
  }

  deleteTopic(topic: string): Promise<void> {
    return this.call(`delete topic '${topic}'`, () => this.topicAdmin.deleteTopic(topic));
  }

  brokers(): Promise<BrokerDescription[]> {
    return this.call('list brokers', async () => (await this.metadata.refresh()).brokers);
  }

  append(topic: string, partition: number, records: ProducerRecord[], options: AppendOptions): Promise<AppendResult> {
    return this.call(`append to ${topic}-${partition}`, () => this.appender.append(topic, partition, records, options));
  }

  fetch(request: FetchRequest): Promise<FetchResponse> {
    return this.call('fetch', () => this.fetcher.fetch(request));
  }

  listOffset(topic: string, partition: number, spec: OffsetSpec, isolationLevel: IsolationLevel = 'read_uncommitted'): Promise<ListOffsetResult> {
    return this.call(`list offset of ${topic}-${partition}`, async () => {
      const timestamp = spec === 'earliest' ? EARLIEST_TIMESTAMP : spec === 'latest' ? LATEST_TIMESTAMP : spec.timestamp;
      if (!Number.isSafeInteger(timestamp) || (timestamp < 0 && typeof spec === 'object')) {
        throw new EngineError('INVALID_REQUEST', `Offset lookup timestamp must be a non-negative integer, got ${timestamp}`);
      }
      await this.metadata.requirePartition(topic, partition);
      return this.leaders.listOffset(topic, partition, timestamp, isolationLevel);
    });
  }

  /** Every public call: refuse when closed or unreachable, map errors, report connectivity failures. */
  private async call<T>(context: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'The kafka engine is closed');
    this.connectivity.assertUp();
    try {
      return await fn();
    } catch (err) {
      const error = toEngineError(err, context);
      this.connectivity.reportFailure(error);
      throw error;
    }
  }
}
