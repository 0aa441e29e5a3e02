import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { StorageEngine } from '../../../engine/storage-engine';
import { isInternalTopic } from '../../../engine/topic-name';
import { PartitionParams, TopicParams, errorResponses } from '../../schemas';
import { PartitionView, partitionView, TopicView, topicView } from './topic-views';

const ConfigMap = Type.Record(Type.String(), Type.String(), { description: "Kafka topic configs, e.g. {\"retention.ms\": \"604800000\"}" });
const ConfigList = Type.Array(Type.Object({ name: Type.String(), value: Type.String() }));

const CreateTopicBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 300 }),
  partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'Default: num.partitions' })),
  replication_factor: Type.Optional(Type.Integer({ minimum: 1, maximum: 32767 })),
  configs: Type.Optional(Type.Union([ConfigMap, ConfigList])),
});

const PatchTopicBody = Type.Object({
  partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'New total; partitions only grow' })),
  configs: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Null(), Type.String()]), { description: 'null resets a config to its default' })),
});

const OffsetsQuery = Type.Object({
  timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'Also find the first offset whose timestamp is >= this (ms)' })),
});

const PartitionOffsets = Type.Object({
  beginning_offset: Type.Integer(),
  end_offset: Type.Integer(),
  last_stable_offset: Type.Integer(),
  offset_for_timestamp: Type.Optional(Type.Object({ timestamp: Type.Integer(), offset: Type.Integer(), record_timestamp: Type.Integer() })),
});

export interface TopicRoutesOptions {
  engine: StorageEngine;
  numPartitions: number;
}

/** Topic admin (v2 reads, extended with writes) and partition metadata and offsets. */
export const topicRoutes: FastifyPluginAsyncTypebox<TopicRoutesOptions> = async (app, { engine, numPartitions }) => {
  app.addSchema(PartitionView);
  app.addSchema(TopicView);

  app.get('/topics', {
    schema: { tags: ['topics'], summary: 'List topic names (internal topics excluded)', response: { 200: Type.Array(Type.String()), ...errorResponses() } },
  }, async () => (await engine.listTopics()).filter((t) => !isInternalTopic(t)).sort());

  app.post('/topics', {
    schema: {
      tags: ['topics'],
      summary: 'Create a topic',
      body: CreateTopicBody,
      response: { 201: Type.Ref('Topic'), ...errorResponses(409) },
    },
  }, async (request, reply) => {
    const { name, partitions, replication_factor, configs } = request.body;
    const configMap = Array.isArray(configs) ? Object.fromEntries(configs.map((c) => [c.name, c.value])) : configs;
    const created = await engine.createTopic({
      name,
      partitions: partitions ?? numPartitions,
      ...(replication_factor === undefined ? {} : { replicationFactor: replication_factor }),
      configs: configMap ?? {},
    });
    return reply.status(201).header('Location', `/topics/${encodeURIComponent(name)}`).send(topicView(created));
  });

  app.get('/topics/:topic', {
    schema: { tags: ['topics'], summary: 'Describe a topic', params: TopicParams, response: { 200: Type.Ref('Topic'), ...errorResponses(404) } },
  }, async (request) => topicView(await engine.describeTopic(request.params.topic)));

  app.patch('/topics/:topic', {
    schema: {
      tags: ['topics'],
      summary: 'Grow partitions and alter configs',
      params: TopicParams,
      body: PatchTopicBody,
      response: { 200: Type.Ref('Topic'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { topic } = request.params;
    if (isInternalTopic(topic)) throw new ApiError('INTERNAL_TOPIC', `Topic '${topic}' is internal and cannot be altered`);
    const { partitions, configs } = request.body;
    if (partitions === undefined && configs === undefined) throw new ApiError('INVALID_REQUEST', 'Nothing to change: give partitions and/or configs');
    const current = await engine.describeTopic(topic);
    if (partitions !== undefined && partitions < current.partitions.length) {
      throw new ApiError('INVALID_PARTITIONS', `Topic '${topic}' has ${current.partitions.length} partitions; partitions can only grow, not shrink to ${partitions}`);
    }
    if (configs !== undefined) await engine.alterTopicConfigs(topic, configs);
    if (partitions !== undefined && partitions > current.partitions.length) await engine.createPartitions(topic, partitions);
    return topicView(await engine.describeTopic(topic));
  });

  app.delete('/topics/:topic', {
    schema: { tags: ['topics'], summary: 'Delete a topic', params: TopicParams, response: { 204: Type.Null(), ...errorResponses(404) } },
  }, async (request, reply) => {
    const { topic } = request.params;
    if (isInternalTopic(topic)) throw new ApiError('INTERNAL_TOPIC', `Topic '${topic}' is internal and cannot be deleted`);
    await engine.deleteTopic(topic);
    return reply.status(204).send(null);
  });

  app.get('/topics/:topic/partitions', {
    schema: { tags: ['topics'], summary: 'List partitions', params: TopicParams, response: { 200: Type.Array(Type.Ref('Partition')), ...errorResponses(404) } },
  }, async (request) => (await engine.describeTopic(request.params.topic)).partitions.map(partitionView));

  app.get('/topics/:topic/partitions/:partition', {
    schema: { tags: ['topics'], summary: 'Describe a partition', params: PartitionParams, response: { 200: Type.Ref('Partition'), ...errorResponses(404) } },
  }, async (request) => {
    const { topic, partition } = request.params;
    const description = await engine.describeTopic(topic);
    const found = description.partitions.find((p) => p.partition === partition);
    if (found === undefined) throw partitionNotFound(topic, partition, description.partitions.length);
    return partitionView(found);
  });

  app.get('/topics/:topic/partitions/:partition/offsets', {
    schema: {
      tags: ['topics'],
      summary: 'Log start offset, high watermark and last stable offset; optionally the offset for a timestamp',
      params: PartitionParams,
      querystring: OffsetsQuery,
      response: { 200: PartitionOffsets, ...errorResponses(404) },
    },
  }, async (request) => {
    const { topic, partition } = request.params;
    await assertPartitionExists(engine, topic, partition);
    const [earliest, latest, stable] = await Promise.all([
      engine.listOffset(topic, partition, 'earliest'),
      engine.listOffset(topic, partition, 'latest', 'read_uncommitted'),
      engine.listOffset(topic, partition, 'latest', 'read_committed'),
    ]);
    const body: { beginning_offset: number; end_offset: number; last_stable_offset: number; offset_for_timestamp?: { timestamp: number; offset: number; record_timestamp: number } } = {
      beginning_offset: earliest.offset,
      end_offset: latest.offset,
      last_stable_offset: stable.offset,
    };
    const { timestamp } = request.query;
    if (timestamp !== undefined) {
      const found = await engine.listOffset(topic, partition, { timestamp });
      body.offset_for_timestamp = { timestamp, offset: found.offset, record_timestamp: found.timestamp };
    }
    return body;
  });

  app.get('/brokers', {
    schema: { tags: ['cluster'], summary: 'Broker ids (v2 shape)', response: { 200: Type.Object({ brokers: Type.Array(Type.Integer()) }), ...errorResponses() } },
  }, async () => ({ brokers: (await engine.brokers()).map((b) => b.id) }));
};

function partitionNotFound(topic: string, partition: number, count: number): ApiError {
  return new ApiError('PARTITION_NOT_FOUND', `Partition ${partition} of topic '${topic}' not found (the topic has ${count})`);
}

/** 40401 for an unknown topic, 40402 for an unknown partition of a known one. */
export async function assertPartitionExists(engine: StorageEngine, topic: string, partition: number): Promise<void> {
  const count = await engine.partitionCount(topic);
  if (count === undefined) throw new ApiError('TOPIC_NOT_FOUND', `Topic '${topic}' not found`);
  if (partition >= count) throw partitionNotFound(topic, partition, count);
}

