import { EngineError } from '../engine-error';
import type { BrokerDescription } from '../storage-engine';
import { toEngineError } from './kafka-error-mapping';
import type { KjsApiVersions, KjsCluster, KjsPartitionMetadata } from './kafkajs-internals';

export interface TopicView {
  name: string;
  internal: boolean;
  /** Indexed by partition id. */
  partitions: KjsPartitionMetadata[];
}

export interface ClusterView {
  brokers: BrokerDescription[];
  /** As the cluster reports it; may name no broker (see README: the test cluster reports 0). */
  controllerId: number | null;
  topics: Map<string, TopicView>;
  fetchedAt: number;
}

/**
 * The engine's view of the cluster: brokers, controller, topics and partition leaders, from one
 * Metadata request for all topics. Cached for `maxAgeMs`; concurrent refreshes share one request.
 * A topic missing from the view is looked up again once before it is reported unknown, since
 * another client may have created it since the last refresh.
 */
export class KafkaMetadata {
  private view: ClusterView | undefined;
  private inflight: Promise<ClusterView> | undefined;

  constructor(
    private readonly cluster: KjsCluster,
    private readonly maxAgeMs: number,
  ) {}

  async current(): Promise<ClusterView> {
    if (this.view !== undefined && Date.now() - this.view.fetchedAt < this.maxAgeMs) return this.view;
    return this.refresh();
  }

  refresh(): Promise<ClusterView> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  invalidate(): void {
    this.view = undefined;
  }

  /** The API versions the cluster announced (kafkajs asks the first broker it reaches). */
  apiVersions(): KjsApiVersions | null {
    return this.cluster.brokerPool.versions;
  }

  async topic(name: string): Promise<TopicView | undefined> {
    const view = await this.current();
    return view.topics.get(name) ?? (await this.refresh()).topics.get(name);
  }

  async requireTopic(name: string): Promise<TopicView> {
    const topic = await this.topic(name);
    if (topic === undefined) throw new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' not found`);
    return topic;
  }

  async requirePartition(topic: string, partition: number): Promise<KjsPartitionMetadata> {
    const view = await this.requireTopic(topic);
    const meta = Number.isInteger(partition) && partition >= 0 ? view.partitions[partition] : undefined;
    if (meta === undefined) throw new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${partition} of topic '${topic}' not found`);
    return meta;
  }

  private async load(): Promise<ClusterView> {
    try {
      await this.cluster.refreshMetadata();
    } catch (err) {
      throw toEngineError(err, 'metadata');
    }
    const metadata = this.cluster.brokerPool.metadata;
    if (metadata === null) throw new EngineError('BROKER_NOT_AVAILABLE', 'metadata: the cluster returned no metadata');
    const topics = new Map<string, TopicView>();
    for (const t of metadata.topicMetadata) {
      const partitions: KjsPartitionMetadata[] = [];
      for (const p of t.partitionMetadata) partitions[p.partitionId] = p;
      topics.set(t.topic, { name: t.topic, internal: t.isInternal === true, partitions });
    }
    this.view = {
      brokers: metadata.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.id - b.id),
      controllerId: metadata.controllerId ?? null,
      topics,
      fetchedAt: Date.now(),
    };
    return this.view;
  }
}
