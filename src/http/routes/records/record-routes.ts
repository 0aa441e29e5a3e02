import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ApiError, fromEngineError } from '../../../errors';
import type { StorageEngine } from '../../../engine/storage-engine';
import { formatFromAccept } from '../../media-types';
import { PartitionParams, WireRecordSchema, errorResponses } from '../../schemas';
import { signalOnClientGone } from '../../client-gone';
import { fetchCursors } from '../consumers/array-record-cursor';
import { renderSources } from '../consumers/records-json';
import { responseBuffers } from '../consumers/response-buffers';
import { assertPartitionExists } from '../topics/topic-routes';

export const MAX_FETCH_BYTES = 64 * 1024 * 1024;

export interface RecordRoutesOptions {
  engine: StorageEngine;
  maxPollTimeoutMs: number;
  /** Ends waiting reads when the server begins to shut down. */
  shutdownSignal: AbortSignal;
}

/**
 * Stateless read of one partition: GET /topics/{t}/partitions/{p}/records. With `timeout` the
 * request waits (event driven, no polling) until a record at `offset` exists, and returns as soon
 * as any arrive; an empty array after the timeout.
 */
export const recordRoutes: FastifyPluginAsyncTypebox<RecordRoutesOptions> = async (app, { engine, maxPollTimeoutMs, shutdownSignal }) => {
  app.addSchema(WireRecordSchema);

  app.get('/topics/:topic/partitions/:partition/records', {
    schema: {
      tags: ['consume'],
      summary: 'Read records of a partition from an offset',
      description: 'The answer format follows Accept: application/vnd.kafka.json.v2+json (default), .binary. or .string.',
      params: PartitionParams,
      querystring: Type.Object({
        offset: Type.Integer({ minimum: 0, description: 'First offset to read' }),
        max_bytes: Type.Integer({ minimum: 1, maximum: MAX_FETCH_BYTES, default: 1048576, description: 'Budget of key and value bytes; at least one record is returned' }),
        timeout: Type.Integer({ minimum: 0, maximum: maxPollTimeoutMs, default: 0, description: 'Long-poll: ms to wait for a record at offset' }),
        isolation_level: Type.Union([Type.Literal('read_committed'), Type.Literal('read_uncommitted')], { default: 'read_committed' }),
      }),
      response: { 200: Type.Array(Type.Ref('Record')), ...errorResponses(404, 406, 416, 422) },
    },
  }, async (request, reply) => {
    const format = formatFromAccept(request.headers.accept);
    if (format === undefined || format === 'schema') {
      throw new ApiError('NOT_ACCEPTABLE', `Cannot answer in '${request.headers.accept}'; accept the json, binary or string format`);
    }
    const { topic, partition } = request.params;
    const { offset, max_bytes, timeout, isolation_level } = request.query;
    await assertPartitionExists(engine, topic, partition);
    const response = await fetchCursors(engine, {
      partitions: [{ topic, partition, offset }],
      maxBytes: max_bytes,
      maxWaitMs: timeout,
      isolationLevel: isolation_level,
      signal: signalOnClientGone(reply, shutdownSignal),
    });
    const result = response.partitions[0];
    if (result === undefined) return [];
    if (result.error !== undefined) throw fromEngineError(result.error, true);
    const rendered = renderSources(format, [{ topic, partition, records: result.records }], max_bytes, responseBuffers);
    if (rendered.failed !== undefined) {
      const { offset } = rendered.failed;
      throw new ApiError('RECORD_CONVERSION', `Record ${topic}-${partition}@${offset} is not JSON; read it with Accept: application/vnd.kafka.binary.v2+json or string`);
    }
    responseBuffers.giveAfter(reply.raw, rendered.buffer);
    // Already JSON text: sent as it is, not serialized again (with the charset a serialized answer names).
    return (reply as FastifyReply).type(`application/vnd.kafka.${format}.v2+json; charset=utf-8`).send(rendered.json);
  });
};
