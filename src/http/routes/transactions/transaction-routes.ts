import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { bodyFormat, type EmbeddedFormat } from '../../media-types';
import { errorResponses } from '../../schemas';
import { serializeHeaders, serializeKey, serializeValue, type WireHeaders } from '../../../produce/record-serde';
import { parseIdempotencyKey, requestFingerprint } from '../../../produce/idempotency/request-fingerprint';
import type { TransactionRecordInput, TransactionService } from '../../../transactions/transaction-service';
import { acceptEmptyJsonBodies } from '../consumers/empty-json-body';
import { BeginBody, OffsetsBody, RecordOffsets, RecordsBody, TransactionParams, TransactionView, transactionView } from './transaction-schemas';

export interface TransactionRoutesOptions {
  transactions: TransactionService;
}

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'A retry with the same key and body gets the first answer and does nothing again' })),
});

/**
 * Transactions: Kafka's transactional producer over HTTP. `POST /transactions` opens one (or, with
 * `records`, writes and commits them in one request); records and consumed offsets are added with
 * their own requests; commit or abort ends it; an open transaction past its timeout is aborted.
 * The coordinator starts with the app (onReady), so a crash's leftovers are ended before serving.
 */
export const transactionRoutes: FastifyPluginAsyncTypebox<TransactionRoutesOptions> = async (app, { transactions }) => {
  acceptEmptyJsonBodies(app as unknown as FastifyInstance);
  app.addSchema(TransactionView);
  app.addHook('onReady', async () => {
    // An engine without transactions serves everything else; its transaction routes answer 501.
    await transactions.start().catch(() => undefined);
  });
  app.addHook('onClose', async () => {
    await transactions.close();
  });
  const tags = ['transactions'];

  app.post('/transactions', {
    // An empty body begins a transaction with the defaults.
    preValidation: async (request) => {
      request.body ??= {};
    },
    schema: {
      tags,
      summary: 'Begin a transaction, or write records to several topics and commit them atomically (one-shot)',
      body: BeginBody,
      headers: IdempotencyHeaders,
      response: {
        200: Type.Object({ transaction: Type.Ref('Transaction'), offsets: RecordOffsets }),
        201: Type.Ref('Transaction'),
        ...errorResponses(404, 409, 413, 415, 422, 501),
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    const fingerprint = fingerprintOf(request);
    if (body.records !== undefined) {
      const records = toRecords(bodyFormat(request.headers['content-type']), body.records);
      const result = await transactions.oneShot(records, body.timeout_ms, key, fingerprint);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return { transaction: transactionView(result.transaction), offsets: result.offsets };
    }
    const { meta, replayed } = await transactions.begin(body.transactional_id, body.timeout_ms, key, fingerprint);
    if (replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(201).header('location', `/transactions/${meta.transactionId}`).send(transactionView(meta));
  });

  app.get('/transactions/:id', {
    schema: { tags, summary: 'The state of a transaction', params: TransactionParams, response: { 200: Type.Ref('Transaction'), ...errorResponses(404, 501) } },
  }, async (request) => transactionView(transactions.describe(request.params.id)));

  app.post('/transactions/:id/records', {
    schema: {
      tags,
      summary: 'Write records to any topics and partitions in the transaction',
      description: 'Visible to read_committed readers only once the transaction commits. A failure after an append may have started aborts the transaction.',
      params: TransactionParams,
      headers: IdempotencyHeaders,
      body: RecordsBody,
      response: { 200: Type.Object({ offsets: RecordOffsets }), ...errorResponses(404, 409, 413, 415, 422, 501) },
    },
  }, async (request, reply) => {
    const records = toRecords(bodyFormat(request.headers['content-type']), request.body.records);
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    const { offsets, replayed } = await transactions.records(request.params.id, records, key, fingerprintOf(request));
    if (replayed) reply.header('idempotent-replayed', 'true');
    return { offsets };
  });

  app.post('/transactions/:id/offsets', {
    schema: {
      tags,
      summary: "Commit a group's consumed offsets with the transaction (consume-transform-produce)",
      description: "Checked against the group's membership now; the group sees them only when the transaction commits.",
      params: TransactionParams,
      headers: IdempotencyHeaders,
      body: OffsetsBody,
      response: { 200: Type.Ref('Transaction'), ...errorResponses(404, 409, 501) },
    },
  }, async (request, reply) => {
    const b = request.body;
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    const { meta, replayed } = await transactions.offsets(
      request.params.id,
      {
        groupId: b.group_id,
        memberId: b.member_id ?? '',
        generationId: b.generation_id ?? -1,
        offsets: b.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? '' })),
      },
      key,
      fingerprintOf(request),
    );
    if (replayed) reply.header('idempotent-replayed', 'true');
    return transactionView(meta);
  });

  const end = (commit: boolean) => async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    const { meta, replayed } = await transactions.end(request.params.id, commit, key);
    if (replayed) reply.header('idempotent-replayed', 'true');
    return transactionView(meta);
  };
  const endSchema = (summary: string) => ({
    tags,
    summary,
    params: TransactionParams,
    headers: IdempotencyHeaders,
    response: { 200: Type.Ref('Transaction'), ...errorResponses(404, 409, 501) },
  });
  app.post('/transactions/:id/commit', { schema: endSchema('Commit: every record and offset of the transaction becomes visible at once') }, end(true));
  app.post('/transactions/:id/abort', { schema: endSchema('Abort: nothing of the transaction is ever visible to read_committed readers') }, end(false));
  app.delete('/transactions/:id', { schema: endSchema('Abort (as POST /transactions/{id}/abort)') }, end(false));
};

type WireRecord = { topic: string; key?: unknown; value?: unknown; partition?: number; headers?: unknown; timestamp?: number };

function toRecords(format: EmbeddedFormat, records: WireRecord[]): TransactionRecordInput[] {
  return records.map((r, i) => {
    const where = `records[${i}]`;
    return {
      topic: r.topic,
      key: serializeKey(format, r.key, `${where}.key`),
      value: serializeValue(format, r.value, `${where}.value`),
      headers: serializeHeaders(format, r.headers as WireHeaders | undefined, where),
      timestamp: r.timestamp,
      partition: r.partition,
    };
  });
}

/**
 * What makes two requests with one Idempotency-Key the same request: the produce routes' rule
 * (method, path, media type, body), over the parsed body re-serialized. In hex, as transaction
 * answers (kept in the coordinator's log as JSON) have always held it.
 */
function fingerprintOf(request: FastifyRequest): string {
  const digest = requestFingerprint(request.method, request.url.split('?')[0] ?? '', request.headers['content-type'], JSON.stringify(request.body ?? null));
  return Buffer.from(digest, 'latin1').toString('hex');
}
