import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, ERRORS, toApiError, type ErrorName } from '../../errors';

/**
 * Every error leaves as `{"error_code": N, "message": "..."}`: ours (ApiError), the engine's
 * (EngineError, mapped by the catalogue), Fastify's own (validation, body parsing, 404, 413, 415)
 * and anything unexpected (50001, logged with its stack; the client sees no internals).
 */
const FASTIFY_CODES: Record<string, ErrorName> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

export interface ErrorBody {
  error_code: number;
  message: string;
}

export function classify(err: FastifyError | Error): ApiError {
  const known = toApiError(err);
  if (known !== undefined) return known;
  const fe = err as FastifyError;
  if (fe.validation !== undefined) {
    const where = fe.validationContext ?? 'request';
    return new ApiError('INVALID_REQUEST', `Invalid ${where}: ${fe.message}`);
  }
  if (fe.code !== undefined && FASTIFY_CODES[fe.code] !== undefined) {
    return new ApiError(FASTIFY_CODES[fe.code] as ErrorName, fe.message);
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) return new ApiError('MALFORMED_REQUEST', err.message);
  if (fe.statusCode === 413) return new ApiError('PAYLOAD_TOO_LARGE', err.message);
  if (fe.statusCode === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', err.message);
  return new ApiError('INTERNAL_ERROR', 'Internal server error', { cause: err });
}

export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const api = classify(err);
      if (api.status >= 500) request.log.error({ err }, 'request failed');
      else request.log.debug({ err: api.message, error_code: api.errorCode }, 'request rejected');
      const body: ErrorBody = { error_code: api.errorCode, message: api.message };
      if (api.errorCode === ERRORS.SHUTTING_DOWN.errorCode || api.errorCode === ERRORS.ENGINE_UNAVAILABLE.errorCode) {
        reply.header('Retry-After', '1');
      }
      return reply.status(api.status).type('application/json').send(body);
    });
    app.setNotFoundHandler((request, reply) => {
      const body: ErrorBody = {
        error_code: ERRORS.ROUTE_NOT_FOUND.errorCode,
        message: `No resource at ${request.method} ${request.url.split('?')[0]}`,
      };
      return reply.status(404).type('application/json').send(body);
    });
  },
  { name: 'basket-error-handler', fastify: '5.x' },
);
