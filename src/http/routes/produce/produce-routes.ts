import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { Acks } from '../../../engine/storage-engine';
import { parseAcks } from '../../acks';
import { bodyFormat, formatOfMediaType, type EmbeddedFormat } from '../../media-types';
import { PartitionParams, TopicParams, errorResponses } from '../../schemas';
import { serializeRecord } from '../../../produce/record-serde';
import { parseProduceBody, type ScannedProduceBody } from '../../produce-body/produce-body';
import { markValuesJson, type ProduceInput, type ProduceOutcome, type ProduceService } from '../../../produce/produce-service';
import type { ReceiptStore } from '../../../produce/receipts';
import type { IdempotentProducer } from '../../../produce/idempotency/idempotent-producer';
import { parseIdempotencyKey, requestFingerprint } from '../../../produce/idempotency/request-fingerprint';
import { parsePrefer } from '../receipts/prefer-header';
import { produceResponseJson } from './produce-response';

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
  async: Type.Optional(Type.Boolean({ description: 'As `Prefer: respond-async`: 202 with a receipt once validated and queued' })),
});

const AcceptedResponse = Type.Object({
  receipt_id: Type.String(),
  status: Type.Literal('pending'),
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
  receipts: ReceiptStore;
  idempotent: IdempotentProducer;
}

const RAW_BODY = Symbol('basket.rawBody');
const VND_JSON = /^application\/vnd\.kafka(\.[a-z]+)?\.v[23]\+json$/;

/**
 * Produce, as the Confluent REST Proxy v2: POST /topics/{topic} and /topics/{topic}/partitions/{p}.
 * 200 once the records are as durable as `acks` asks. Beyond it:
 * - `Prefer: respond-async` or `?async=true`: 202 with `Location: /receipts/{id}` once the request
 *   is validated and its appends are issued, so a later request lands after it in every partition.
 * - `Idempotency-Key`: a repeat with the same key and request gets the first answer and writes
 *   nothing (`Idempotent-Replayed: true`); see idempotent-producer.ts. The body's text is kept
 *   for the request fingerprint.
 * This plugin parses its own bodies, in one pass that validates the JSON and the body's shape and
 * keeps each json-format value as its JSON text (produce-body.ts), so ajv does not validate the
 * body again: the body schema is attached for the OpenAPI document only (swaggerTransform).
 */
export const produceRoutes: FastifyPluginAsyncTypebox<ProduceRoutesOptions> = async (app, opts) => {
  app.removeAllContentTypeParsers();
  const parseBody = (request: FastifyRequest, bytes: Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    // the body's bytes are kept beside its text: json values of an ASCII body are taken from them (see parseProduceBody)
    const body = bytes.toString();
    (request as unknown as Record<symbol, unknown>)[RAW_BODY] = body;
    // schema formats and unknown versions are refused with 415 by the handler, once the body is known to be JSON
    const format = formatOfMediaType(request.headers['content-type']);
    let parsed: ScannedProduceBody;
    try {
      parsed = parseProduceBody(body, format === 'binary' || format === 'string' ? format : 'json', bytes);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, parsed);
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseBody);
  app.addContentTypeParser(VND_JSON, { parseAs: 'buffer' }, parseBody);
  // Keys survive restarts: the journal is read before the server takes requests. If it cannot be
  // (an unwritable data directory), requests without a key are still served; keyed ones get 503.
  try {
    opts.idempotent.start();
  } catch (err) {
    app.log.warn({ err }, 'idempotency keys unavailable');
  }
  app.addHook('onClose', async () => {
    opts.receipts.close();
    await opts.idempotent.close();
  });

  const schemaBase = {
    tags: ['produce'],
    querystring: ProduceQuery,
    headers: Type.Object({
      acks: Type.Optional(Type.String()),
      prefer: Type.Optional(Type.String({ description: 'respond-async: answer 202 with a receipt' })),
      'idempotency-key': Type.Optional(Type.String({ description: 'A retry with the same key and request writes nothing and gets the first answer' })),
    }),
    response: { 200: ProduceResponse, 202: AcceptedResponse, ...errorResponses(404, 413, 415, 422, 429) },
  };
  // the body is documented, not validated by ajv: parseProduceBody has checked its shape already
  const config: FastifyContextConfig = {
    swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: ProduceBody }, url }),
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply, topic: string, records: ProduceInput[], acks: Acks) => {
    const query = request.query as { async?: boolean };
    const async = query.async === true || parsePrefer(request.headers.prefer).respondAsync;
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    if (async) opts.receipts.assertRoom();
    if (key === undefined) {
      if (!async) return respond(reply, await opts.produceService.produce(topic, records, acks));
      const sent = await opts.produceService.start(topic, records, acks);
      return accepted(reply, opts.receipts.track(sent.done));
    }
    const raw = (request as unknown as Record<symbol, string | undefined>)[RAW_BODY] ?? '';
    const fingerprint = requestFingerprint(request.method, request.url.split('?')[0], request.headers['content-type'], raw);
    const run = await opts.idempotent.send({ key, fingerprint, topic, records, acks, async });
    if (run.repeated) reply.header('idempotent-replayed', 'true');
    if (run.async) return accepted(reply, opts.receipts.track(run.done, run.receiptId));
    return respond(reply, await run.done);
  };

  app.post('/topics/:topic', {
    config,
    schema: {
      ...schemaBase,
      summary: 'Produce records to a topic',
      description: 'Partition per record: explicit `partition`, else murmur2 of the key as Kafka\'s default partitioner, else sticky.',
      params: TopicParams,
    },
  }, async (request, reply) => {
    const format = bodyFormat(request.headers['content-type']);
    const acks = parseAcks(request.query.acks ?? request.headers.acks, opts.defaultAcks);
    const records = toProduceInputs(format, request.body as ScannedProduceBody);
    return handle(request, reply, request.params.topic, records, acks);
  });

  app.post('/topics/:topic/partitions/:partition', {
    config,
    schema: { ...schemaBase, summary: 'Produce records to one partition', params: PartitionParams },
  }, async (request, reply) => {
    const format = bodyFormat(request.headers['content-type']);
    const acks = parseAcks(request.query.acks ?? request.headers.acks, opts.defaultAcks);
    const records = toProduceInputs(format, request.body as ScannedProduceBody, request.params.partition);
    return handle(request, reply, request.params.topic, records, acks);
  });
};

function toProduceInputs(format: EmbeddedFormat, body: ScannedProduceBody, pathPartition?: number): ProduceInput[] {
  if (body.key_schema !== undefined || body.key_schema_id !== undefined || body.value_schema !== undefined || body.value_schema_id !== undefined) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Schemas are not supported; use the json, binary or string format');
  }
  const records = body.records;
  const out = new Array<ProduceInput>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (pathPartition !== undefined && r.partition !== undefined && r.partition !== pathPartition) {
      throw new ApiError('INVALID_REQUEST', `records[${i}].partition ${r.partition} differs from the partition in the path (${pathPartition})`);
    }
    const input: ProduceInput = serializeRecord(format, r, i);
    const partition = pathPartition ?? r.partition;
    if (partition !== undefined) input.partition = partition;
    out[i] = input;
  }
  // the body scanner checked each json value to be JSON text, and serializeRecord kept that text
  if (format === 'json') markValuesJson(out);
  return out;
}

/** The 200 answer, as text: a batch's answer has an entry per record (see produce-response.ts). */
function respond(reply: FastifyReply, outcomes: ProduceOutcome[]) {
  return reply.type('application/json; charset=utf-8').send(produceResponseJson(outcomes));
}

function accepted(reply: FastifyReply, receiptId: string) {
  reply.code(202).header('location', `/receipts/${receiptId}`).header('preference-applied', 'respond-async');
  return { receipt_id: receiptId, status: 'pending' as const };
}
