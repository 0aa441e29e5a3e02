import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { ProduceOutcome } from '../../../produce/produce-service';
import type { Receipt, ReceiptStore } from '../../../produce/receipts';
import type { IdempotentProducer } from '../../../produce/idempotency/idempotent-producer';
import { classify } from '../../plugins/error-handler';
import { signalOnClientGone } from '../../client-gone';
import { errorResponses } from '../../schemas';
import { parsePrefer } from './prefer-header';

export interface ReceiptRoutesOptions {
  receipts: ReceiptStore;
  /** Finds keyed receipts this process does not hold (after a restart). */
  keyed?: IdempotentProducer;
  /** Longest `Prefer: wait` honoured, ms. */
  maxWaitMs: number;
}

const ReceiptResponse = Type.Object({
  receipt_id: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  offsets: Type.Union([
    Type.Null(),
    Type.Array(
      Type.Object({
        partition: Type.Integer(),
        offset: Type.Integer({ description: '-1 with acks=0' }),
        timestamp: Type.Integer(),
        error_code: Type.Null(),
        error: Type.Null(),
      }),
    ),
  ]),
  error_code: Type.Union([Type.Null(), Type.Integer()]),
  message: Type.Union([Type.Null(), Type.String()]),
  key_schema_id: Type.Null(),
  value_schema_id: Type.Null(),
});

/**
 * GET /receipts/{id}: the outcome of an async produce (`Prefer: respond-async`), the HTTP form of
 * a producer's `send()` future. `Prefer: wait=N` long-polls up to N seconds (bounded by the
 * server's max poll timeout) until the outcome is known. 200 with the status in the body: pending,
 * succeeded (with offsets) or failed (with the error the produce would have answered).
 */
export const receiptRoutes: FastifyPluginAsyncTypebox<ReceiptRoutesOptions> = async (app, opts) => {
  app.get('/receipts/:id', {
    schema: {
      tags: ['produce'],
      summary: 'Outcome of an async produce request',
      description: '`Prefer: wait=N` waits up to N seconds for a pending outcome.',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
      headers: Type.Object({ prefer: Type.Optional(Type.String()) }),
      response: { 200: ReceiptResponse, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    let receipt = opts.receipts.get(id) ?? (await restoreKeyed(opts, id));
    if (receipt === undefined) throw new ApiError('RECEIPT_NOT_FOUND', `Receipt '${id}' not found or expired`);
    const waitSeconds = parsePrefer(request.headers.prefer).waitSeconds;
    if (waitSeconds !== undefined && receipt.status === 'pending') {
      const waitMs = Math.min(waitSeconds * 1000, opts.maxWaitMs);
      receipt = (await opts.receipts.wait(id, waitMs, signalOnClientGone(reply))) ?? receipt;
      reply.header('preference-applied', `wait=${Math.floor(waitMs / 1000)}`);
    }
    return render(receipt);
  });
};

async function restoreKeyed(opts: ReceiptRoutesOptions, id: string): Promise<Receipt | undefined> {
  const found = await opts.keyed?.receipt(id);
  if (found === undefined) return undefined;
  if (found === 'pending') {
    return { id, status: 'pending', error: new ApiError('ILLEGAL_STATE', 'The request was interrupted; send it again with its Idempotency-Key to finish it') };
  }
  if (found.outcomes !== undefined) opts.receipts.record(id, found.outcomes);
  else opts.receipts.track(found.running!, id);
  return opts.receipts.get(id);
}

function render(receipt: Receipt) {
  const failure = receipt.status === 'pending' && receipt.error === undefined ? undefined : receipt.error;
  const api = failure === undefined ? undefined : classify(failure as Error);
  return {
    receipt_id: receipt.id,
    status: receipt.status,
    offsets: receipt.outcomes === undefined ? null : receipt.outcomes.map(offsetView),
    error_code: api?.errorCode ?? null,
    message: api?.message ?? null,
    key_schema_id: null,
    value_schema_id: null,
  };
}

export function offsetView(o: ProduceOutcome) {
  return { partition: o.partition, offset: o.offset, timestamp: o.timestamp, error_code: null, error: null };
}
