import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { EngineError } from '../engine-error';
import type { NewTopic } from '../storage-engine';
import { validateTopicConfigs } from '../topic-config';
import { assertValidTopicName } from '../topic-name';
import type { KafkaMetadata } from './kafka-metadata';
import { API_KEYS } from './kafkajs-internals';

/** Kafka's ConfigSource for a topic's own override (DescribeConfigs v1+). */
const TOPIC_CONFIG_SOURCE = 1;

/**
 * Topic admin through kafkajs's admin client. Kafka serves these requests on the controller, and
 * kafkajs sends them there; before each, two checks turn what would be a slow retry loop into a
 * clear error: the cluster must announce the API (ApiVersions), and the controller id it reports
 * must be one of its brokers. Both fail on librdkafka's mock cluster (see README.md).
 *
 * Kafka's AlterConfigs (the only config write kafkajs has) replaces a topic's whole set of
 * overrides, so a change is read-modify-write: current overrides, then the change applied on top.
 * Two concurrent writers to one topic's configs can lose one another's change.
 */
export class KafkaTopicAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly metadata: KafkaMetadata,
    private readonly timeoutMs: number,
  ) {}

  async createTopic(topic: NewTopic): Promise<void> {
    assertValidTopicName(topic.name);
    if (topic.partitions !== undefined && (!Number.isInteger(topic.partitions) || topic.partitions < 1)) {
      throw new EngineError('INVALID_PARTITIONS', `Partition count must be a positive integer, got ${topic.partitions}`);
    }
    if (topic.replicationFactor !== undefined && (!Number.isInteger(topic.replicationFactor) || topic.replicationFactor < 1)) {
      throw new EngineError('INVALID_REPLICATION_FACTOR', `Replication factor must be a positive integer, got ${topic.replicationFactor}`);
    }
    const configs = topic.configs ?? {};
    validateTopicConfigs(configs);
    if ((await this.metadata.topic(topic.name)) !== undefined) throw new EngineError('TOPIC_ALREADY_EXISTS', `Topic '${topic.name}' already exists`);
    await this.requireControllerApi(API_KEYS.CreateTopics, 'CreateTopics');
    const created = await this.admin.createTopics({
      // -1 asks for the cluster's defaults (num.partitions, default.replication.factor).
      topics: [{ topic: topic.name, numPartitions: topic.partitions ?? -1, replicationFactor: topic.replicationFactor ?? -1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      waitForLeaders: true,
      timeout: this.timeoutMs,
    });
    this.metadata.invalidate();
    if (!created) throw new EngineError('TOPIC_ALREADY_EXISTS', `Topic '${topic.name}' already exists`);
  }

  async createPartitions(topic: string, count: number): Promise<void> {
    const view = await this.metadata.requireTopic(topic);
    const current = view.partitions.length;
    if (!Number.isInteger(count) || count <= current) {
      throw new EngineError('INVALID_PARTITIONS', `Topic '${topic}' has ${current} partitions; the count can only grow, got ${count}`);
    }
    await this.requireControllerApi(API_KEYS.CreatePartitions, 'CreatePartitions');
    await this.admin.createPartitions({ topicPartitions: [{ topic, count }], timeout: this.timeoutMs });
    this.metadata.invalidate();
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.metadata.requireTopic(topic);
    await this.requireControllerApi(API_KEYS.DeleteTopics, 'DeleteTopics');
    await this.admin.deleteTopics({ topics: [topic], timeout: this.timeoutMs });
    this.metadata.invalidate();
  }

  async alterTopicConfigs(topic: string, changes: Record<string, string | null>): Promise<void> {
    validateTopicConfigs(changes);
    await this.metadata.requireTopic(topic);
    await this.requireControllerApi(API_KEYS.AlterConfigs, 'AlterConfigs');
    const overrides = (await this.describeConfigs(topic, true)) ?? {};
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) delete overrides[name];
      else overrides[name] = value;
    }
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: Object.entries(overrides).map(([name, value]) => ({ name, value })) }],
    });
  }

  /**
   * A topic's configs as Kafka reports them (every config, defaults included), or only its own
   * overrides. undefined when the cluster has no DescribeConfigs API at all.
   */
  async describeConfigs(topic: string, overridesOnly = false): Promise<Record<string, string> | undefined> {
    if (!this.supports(API_KEYS.DescribeConfigs)) return undefined;
    await this.requireControllerApi(API_KEYS.DescribeConfigs, 'DescribeConfigs');
    const response = await this.admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
    const out: Record<string, string> = {};
    for (const resource of response.resources) {
      for (const entry of resource.configEntries) {
        if (entry.configValue === null || entry.isSensitive) continue;
        if (overridesOnly && entry.configSource !== TOPIC_CONFIG_SOURCE) continue;
        out[entry.configName] = entry.configValue;
      }
    }
    return out;
  }

  private supports(apiKey: number): boolean {
    const versions = this.metadata.apiVersions();
    return versions === null || versions[apiKey] !== undefined;
  }

  private async requireControllerApi(apiKey: number, apiName: string): Promise<void> {
    if (!this.supports(apiKey)) {
      throw new EngineError('UNSUPPORTED_VERSION', `The Kafka cluster does not offer the ${apiName} API (key ${apiKey})`, { retriable: false });
    }
    let view = await this.metadata.current();
    if (!this.isBroker(view.controllerId, view.brokers)) view = await this.metadata.refresh();
    const controller = view.controllerId;
    if (controller === null || controller < 0) {
      throw new EngineError('BROKER_NOT_AVAILABLE', `The Kafka cluster has no controller at the moment; ${apiName} needs one`, { retriable: true });
    }
    if (!this.isBroker(controller, view.brokers)) {
      const ids = view.brokers.map((b) => b.id).join(', ');
      throw new EngineError('BROKER_NOT_AVAILABLE', `The Kafka cluster names broker ${controller} as its controller but has no such broker (brokers: ${ids}); ${apiName} needs the controller`, { retriable: false });
    }
  }

  private isBroker(id: number | null, brokers: Array<{ id: number }>): boolean {
    return id !== null && brokers.some((b) => b.id === id);
  }
}
