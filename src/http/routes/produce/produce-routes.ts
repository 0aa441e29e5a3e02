import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { Acks } from '../../../engine/storage-engine';
import { parseAcks } from '../../acks';
import { formatOfMediaType, type EmbeddedFormat } from '../../media-types';
import { PartitionParams, TopicParams, errorResponses } from '../../schemas';
import { serializeHeaders, serializeKey, serializeValue, type WireHeaders } from '../../../produce/record-serde';
import type { ProduceInput, ProduceOutcome, ProduceService } from '../../../produce/produce-service';

const HeaderInput = Type.Union([
  Type.Array(
    Type.Object({
      key: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
      value: Type.Union([Type.Null(), Type.String()]),
    }),
  ),
  Type.Record(Type.String(), Type.Union([Type.Null(), Type.String()])),
]);

const ProduceRecord = Type.Object({
  key: Type.Optional(Type.Unknown()),
  value: Type.Optional(Type.Unknown()),
  partition: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
  headers: Type.Optional(HeaderInput),
  timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'CreateTime, ms since the epoch' })),
});

const ProduceBody = Type.Object({
  records: Type.Array(ProduceRecord, { minItems: 1 }),
  key_schema: Type.Optional(Type.String()),
  key_schema_id: Type.Optional(Type.Integer()),
  value_schema: Type.Optional(Type.String()),
  value_schema_id: Type.Optional(Type.Integer()),
});

const ProduceQuery = Type.Object({
  acks: Type.Optional(Type.String({ description: 'all (-1), 1 or 0; overrides the Acks header and the configured default' })),
});

const OffsetResult = Type.Object({
  partition: Type.Integer(),
  offset: Type.Integer({ description: '-1 with acks=0' }),
  timestamp: Type.Integer(),
  error_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.Null(), Type.String()]),
});

const ProduceResponse = Type.Object({
  offsets: Type.Array(OffsetResult),
  key_schema_id: Type.Null(),
  value_schema_id: Type.Null(),
});

export interface ProduceRoutesOptions {
  produceService: ProduceService;
  defaultAcks: Acks;
}

/**
 * Produce, as the Confluent REST Proxy v2: POST /topics/{topic} and /topics/{topic}/partitions/{p}.
 * 200 once the records are as durable as `acks` asks.
 */
export const produceRoutes: FastifyPluginAsyncTypebox<ProduceRoutesOptions> = async (app, opts) => {
  const schemaBase = {
    tags: ['produce'],
    body: ProduceBody,
    querystring: ProduceQuery,
    headers: Type.Object({ acks: Type.Optional(Type.String()) }),
    response: { 200: ProduceResponse, ...errorResponses(404, 413, 415, 422) },
  };

  app.post('/topics/:topic', {
    schema: {
      ...schemaBase,
      summary: 'Produce records to a topic',
      description: 'Partition per record: explicit `partition`, else murmur2 of the key as Kafka\'s default partitioner, else sticky.',
      params: TopicParams,
    },
  }, async (request) => {
    const format = bodyFormat(request.headers['content-type']);
    const acks = parseAcks(request.query.acks ?? request.headers.acks, opts.defaultAcks);
    const records = toProduceInputs(format, request.body);
    return respond(await opts.produceService.produce(request.params.topic, records, acks));
  });

  app.post('/topics/:topic/partitions/:partition', {
    schema: { ...schemaBase, summary: 'Produce records to one partition', params: PartitionParams },
  }, async (request) => {
    const format = bodyFormat(request.headers['content-type']);
    const acks = parseAcks(request.query.acks ?? request.headers.acks, opts.defaultAcks);
    const records = toProduceInputs(format, request.body, request.params.partition);
    return respond(await opts.produceService.produce(request.params.topic, records, acks));
  });
};

function bodyFormat(contentType: string | undefined): EmbeddedFormat {
  const format = formatOfMediaType(contentType);
  if (format === 'schema') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content type '${contentType}' needs a schema registry; use the json, binary or string format`);
  }
  if (format === undefined) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Unsupported content type '${contentType ?? ''}'`);
  return format;
}

type Body = { records: Array<{ key?: unknown; value?: unknown; partition?: number; headers?: WireHeaders; timestamp?: number }>; key_schema?: string; key_schema_id?: number; value_schema?: string; value_schema_id?: number };

function toProduceInputs(format: EmbeddedFormat, body: Body, pathPartition?: number): ProduceInput[] {
  if (body.key_schema !== undefined || body.key_schema_id !== undefined || body.value_schema !== undefined || body.value_schema_id !== undefined) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Schemas are not supported; use the json, binary or string format');
  }
  return body.records.map((r, i) => {
    const where = `records[${i}]`;
    if (pathPartition !== undefined && r.partition !== undefined && r.partition !== pathPartition) {
      throw new ApiError('INVALID_REQUEST', `${where}.partition ${r.partition} differs from the partition in the path (${pathPartition})`);
    }
    return {
      key: serializeKey(format, r.key, `${where}.key`),
      value: serializeValue(format, r.value, `${where}.value`),
      headers: serializeHeaders(format, r.headers, where),
      timestamp: r.timestamp,
      partition: pathPartition ?? r.partition,
    };
  });
}

function respond(outcomes: ProduceOutcome[]) {
  return {
    offsets: outcomes.map((o) => ({ partition: o.partition, offset: o.offset, timestamp: o.timestamp, error_code: null, error: null })),
    key_schema_id: null,
    value_schema_id: null,
  };
}
