import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { ConsumerManager } from '../../../consumer/consumer-manager';
import type { ConsumerConfigInput } from '../../../consumer/consumer-config';
import type { ConsumerInstance } from '../../../consumer/consumer-instance';
import type { GroupCoordinator, TopicPartition } from '../../../coordinator/group/group-coordinator';
import { MEDIA_TYPES, type EmbeddedFormat } from '../../media-types';
import { errorResponses, WireRecordSchema } from '../../schemas';
import { signalOnClientGone } from '../../client-gone';
import { MAX_FETCH_BYTES } from '../records/record-routes';
import {
  CommitBody,
  CommittedOffsetsView,
  CreateConsumerBody,
  CreatedConsumer,
  GroupParams,
  InstanceParams,
  PartitionsBody,
  PositionsBody,
  PositionsView,
  SubscriptionBody,
  SubscriptionView,
  TimestampSeekBody,
} from './consumer-schemas';
import { acceptEmptyJsonBodies, readGetBody } from './empty-json-body';
import { renderSources } from './records-json';
import { responseBuffers } from './response-buffers';

export interface ConsumerRoutesOptions {
  consumers: ConsumerManager;
  coordinator: GroupCoordinator;
  maxPollTimeoutMs: number;
  /** Ends waiting reads when the server begins to shut down. */
  shutdownSignal: AbortSignal;
}

const INSTANCE = '/consumers/:group/instances/:instance';
const V2 = MEDIA_TYPES.v2;
const noContent = { 204: Type.Null({ description: 'No content' }) };

/**
 * Consumer instances, as the Confluent REST Proxy v2 serves them (same paths, bodies and error
 * codes), plus GET positions and positions/timestamp. This plugin also owns the instances' life:
 * the group coordinator loads when the app gets ready; on close every instance commits (with
 * auto-commit) and leaves before the coordinator stops.
 */
export const consumerRoutes: FastifyPluginAsyncTypebox<ConsumerRoutesOptions> = async (app, { consumers, coordinator, maxPollTimeoutMs, shutdownSignal }) => {
  acceptEmptyJsonBodies(app as unknown as FastifyInstance);
  app.addHook('onReady', async () => {
    consumers.start();
    // Loaded at start; if the engine cannot serve it yet, the first consumer request tries again
    // (and meanwhile answers 50302), while everything else keeps working.
    await coordinator.start().catch((err: unknown) => app.log.error({ err }, 'the group coordinator did not load'));
  });
  app.addHook('preClose', async () => consumers.closeAll());
  app.addHook('onClose', async () => coordinator.close());

  app.addSchema(WireRecordSchema);
  const use = <T>(request: { params: { group: string; instance: string } }, fn: (instance: ConsumerInstance) => Promise<T>): Promise<T> =>
    consumers.use(request.params.group, request.params.instance, fn);

  app.post('/consumers/:group', {
    schema: {
      tags: ['consume'],
      summary: 'Create a consumer instance in a group',
      params: GroupParams,
      body: CreateConsumerBody,
      response: { 200: CreatedConsumer, ...errorResponses(409, 422) },
    },
  }, async (request, reply) => {
    const { group } = request.params;
    const body = (request.body ?? {}) as ConsumerConfigInput & { name?: string };
    const instance = consumers.create(group, body.name, body);
    const base = `${request.protocol}://${request.host}`;
    reply.type(V2);
    return { instance_id: instance.name, base_uri: `${base}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(instance.name)}` };
  });

  app.delete(INSTANCE, {
    schema: { tags: ['consume'], summary: 'Delete a consumer instance (commits with auto-commit, leaves the group)', params: InstanceParams, response: { ...noContent, ...errorResponses(404) } },
  }, async (request, reply) => {
    await consumers.delete(request.params.group, request.params.instance);
    return reply.status(204).send(null);
  });

  app.post(`${INSTANCE}/subscription`, {
    schema: {
      tags: ['consume'],
      summary: 'Subscribe to topics or a topic pattern; the group assigns the partitions',
      params: InstanceParams,
      body: SubscriptionBody,
      response: { ...noContent, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { topics, topic_pattern } = request.body;
    await use(request, (i) => i.subscribe(topics, topic_pattern));
    return reply.status(204).send(null);
  });

  app.get(`${INSTANCE}/subscription`, {
    schema: { tags: ['consume'], summary: 'Subscribed topics', params: InstanceParams, response: { 200: SubscriptionView, ...errorResponses(404) } },
  }, async (request, reply) => {
    reply.type(V2);
    return { topics: await use(request, async (i) => i.subscription()) };
  });

  app.delete(`${INSTANCE}/subscription`, {
    schema: { tags: ['consume'], summary: 'Unsubscribe (and drop a manual assignment)', params: InstanceParams, response: { ...noContent, ...errorResponses(404) } },
  }, async (request, reply) => {
    await use(request, (i) => i.unsubscribe());
    return reply.status(204).send(null);
  });

  app.post(`${INSTANCE}/assignments`, {
    schema: { tags: ['consume'], summary: 'Assign partitions manually (no group membership)', params: InstanceParams, body: PartitionsBody, response: { ...noContent, ...errorResponses(404, 409) } },
  }, async (request, reply) => {
    await use(request, (i) => i.assign(request.body.partitions));
    return reply.status(204).send(null);
  });

  app.get(`${INSTANCE}/assignments`, {
    schema: { tags: ['consume'], summary: 'Partitions assigned to the instance', params: InstanceParams, response: { 200: PartitionsBody, ...errorResponses(404) } },
  }, async (request, reply) => {
    reply.type(V2);
    return { partitions: await use(request, async (i) => i.assignment()) };
  });

  app.post(`${INSTANCE}/positions`, {
    schema: { tags: ['consume'], summary: 'Seek: the next offsets to read', params: InstanceParams, body: PositionsBody, response: { ...noContent, ...errorResponses(404, 409) } },
  }, async (request, reply) => {
    await use(request, (i) => i.seek(request.body.offsets));
    return reply.status(204).send(null);
  });

  app.get(`${INSTANCE}/positions`, {
    schema: { tags: ['consume'], summary: 'The next offset to read of each assigned partition (extension)', params: InstanceParams, response: { 200: PositionsView, ...errorResponses(404) } },
  }, async (request, reply) => {
    reply.type(V2);
    return { offsets: await use(request, async (i) => i.positions()) };
  });

  for (const [where, spec] of [['beginning', 'earliest'], ['end', 'latest']] as const) {
    app.post(`${INSTANCE}/positions/${where}`, {
      schema: {
        tags: ['consume'],
        summary: `Seek to the ${where} of partitions (all assigned ones when the list is empty)`,
        params: InstanceParams,
        body: PartitionsBody,
        response: { ...noContent, ...errorResponses(404, 409) },
      },
    }, async (request, reply) => {
      await use(request, (i) => i.seekTo(request.body.partitions, spec));
      return reply.status(204).send(null);
    });
  }

  app.post(`${INSTANCE}/positions/timestamp`, {
    schema: {
      tags: ['consume'],
      summary: 'Seek to the first record at or after a timestamp (extension); the end where there is none',
      params: InstanceParams,
      body: TimestampSeekBody,
      response: { ...noContent, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { timestamp, partitions } = request.body;
    await use(request, async (i) => {
      const targets: Array<TopicPartition & { timestamp?: number }> = partitions ?? i.assignment();
      for (const tp of targets) {
        const t = tp.timestamp ?? timestamp;
        if (t === undefined) throw new ApiError('INVALID_REQUEST', `No timestamp for ${tp.topic}-${tp.partition}: give one per partition or a top-level timestamp`);
        await i.seekTo([{ topic: tp.topic, partition: tp.partition }], { timestamp: t });
      }
    });
    return reply.status(204).send(null);
  });

  app.post(`${INSTANCE}/offsets`, {
    schema: {
      tags: ['consume'],
      summary: 'Commit offsets: the given ones, or every consumed position when the body is empty',
      params: InstanceParams,
      body: CommitBody,
      response: { ...noContent, ...errorResponses(404, 409) },
    },
    // No body (with or without a content type) means "what was consumed", as {}.
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request, reply) => {
    const offsets = request.body.offsets?.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? '' }));
    await use(request, (i) => i.commit(offsets));
    return reply.status(204).send(null);
  });

  app.get(`${INSTANCE}/offsets`, {
    schema: {
      tags: ['consume'],
      summary: 'Committed offsets of partitions (a JSON body {"partitions": [...]}, as v2; without one, every committed partition)',
      params: InstanceParams,
      response: { 200: CommittedOffsetsView, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const partitions = parsePartitionsBody(await readGetBody(request.raw, 1 << 20));
    reply.type(V2);
    const committed = await use(request, (i) => i.committed(partitions));
    return { offsets: committed.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset, metadata: c.metadata })) };
  });

  app.get(`${INSTANCE}/records`, {
    schema: {
      tags: ['consume'],
      summary: 'Long-poll for records of the assigned partitions; returns as soon as any arrive',
      description: "The Accept header's embedded format must be the instance's (406 otherwise).",
      params: InstanceParams,
      querystring: Type.Object({
        timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: maxPollTimeoutMs, description: "ms to wait; default the instance's consumer.request.timeout.ms" })),
        max_bytes: Type.Integer({ minimum: 1, maximum: MAX_FETCH_BYTES, default: 1048576, description: 'Budget of key and value bytes; at least one record is returned' }),
      }),
      response: { 200: Type.Array(Type.Ref('Record')), ...errorResponses(404, 406, 409, 422) },
    },
  }, async (request, reply) => {
    const { timeout, max_bytes } = request.query;
    const signal = signalOnClientGone(reply, shutdownSignal);
    if (signal.aborted && !shutdownSignal.aborted) return [];
    return use(request, async (instance) => {
      const format = recordsFormat(request.headers.accept, instance.config.format);
      const body = await instance.pollSources({ timeoutMs: timeout ?? instance.config.requestTimeoutMs, maxBytes: max_bytes, signal }, (sources, maxBytes) => {
        const rendered = renderSources(format, sources, maxBytes, responseBuffers);
        return { output: rendered, count: rendered.count, nextOffsets: rendered.nextOffsets, error: rendered.error };
      });
      responseBuffers.giveAfter(reply.raw, body.buffer);
      // Already JSON text: a string with a JSON content type is sent as it is, not serialized again.
      return (reply as FastifyReply).type(format === 'json' ? MEDIA_TYPES.json : MEDIA_TYPES[format]).send(body.json);
    });
  });
};

/**
 * The embedded format a records response uses: the instance's, which an Accept header naming an
 * embedded format must match (Confluent's 40601); wildcards and plain JSON accept it.
 */
export function recordsFormat(accept: string | undefined, instanceFormat: EmbeddedFormat): EmbeddedFormat {
  if (accept === undefined || accept.trim() === '') return instanceFormat;
  const vnd = /^application\/vnd\.kafka\.([a-z]+)\.v2\+json$/;
  let named = false;
  for (const entry of accept.split(',')) {
    const essence = (entry.split(';')[0] ?? '').trim().toLowerCase();
    const m = vnd.exec(essence);
    if (m === null) {
      if (['*/*', 'application/*', MEDIA_TYPES.plainJson, MEDIA_TYPES.v2].includes(essence)) return instanceFormat;
      continue;
    }
    named = true;
    if (m[1] === instanceFormat) return instanceFormat;
  }
  throw new ApiError(
    'NOT_ACCEPTABLE',
    named
      ? `Consumer format '${instanceFormat}' does not match the embedded format requested by the Accept header '${accept}'`
      : `Cannot answer in '${accept}'; accept application/vnd.kafka.${instanceFormat}.v2+json`,
  );
}

function parsePartitionsBody(body: unknown): TopicPartition[] | undefined {
  if (body === undefined) return undefined;
  const partitions = (body as { partitions?: unknown }).partitions;
  if (typeof body !== 'object' || body === null || !Array.isArray(partitions)) {
    throw new ApiError('INVALID_REQUEST', 'The body must be {"partitions": [{"topic": ..., "partition": ...}]}');
  }
  return partitions.map((p: unknown, i) => {
    const { topic, partition } = (p ?? {}) as { topic?: unknown; partition?: unknown };
    if (typeof topic !== 'string' || topic === '' || !Number.isInteger(partition) || (partition as number) < 0) {
      throw new ApiError('INVALID_REQUEST', `partitions[${i}] needs a topic name and a partition number`);
    }
    return { topic, partition: partition as number };
  });
}
