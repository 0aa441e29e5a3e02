import { EngineError, type EngineErrorCode } from './engine/engine-error';

/**
 * The error catalogue. Every error a client can see has a permanent 5-digit `error_code`
 * (HTTP status × 100 + sub-code, as the Confluent REST Proxy), an HTTP status and a description.
 * Codes shared with the Confluent REST Proxy v2 keep its numbers (40401, 40402, 40403, 40901,
 * 40902, 40903, 42201-42204, 50002, 50003); the rest extend it in the same style. The README's error
 * table and the OpenAPI spec list them; a test keeps all three in step.
 */
export const ERRORS = {
  // 400: the request itself is malformed
  MALFORMED_REQUEST: { errorCode: 40001, status: 400, doc: 'The body is not valid JSON, or not what the content type says.' },
  INVALID_REQUEST: { errorCode: 40002, status: 400, doc: 'A parameter, header or body field is missing or out of range.' },
  INVALID_TOPIC_NAME: { errorCode: 40003, status: 400, doc: "Topic name breaks Kafka's rule: [a-zA-Z0-9._-], 1-249 characters, not '.' or '..'." },
  INVALID_TOPIC_CONFIG: { errorCode: 40004, status: 400, doc: 'Unknown topic config name or invalid value.' },
  INVALID_PARTITIONS: { errorCode: 40005, status: 400, doc: 'Invalid partition count (partitions can only grow).' },
  INTERNAL_TOPIC: { errorCode: 40006, status: 400, doc: 'Internal topics (names starting with __) cannot be written or altered.' },
  // 404: something named in the path does not exist
  TOPIC_NOT_FOUND: { errorCode: 40401, status: 404, doc: 'Topic not found.' },
  PARTITION_NOT_FOUND: { errorCode: 40402, status: 404, doc: 'Partition not found.' },
  CONSUMER_INSTANCE_NOT_FOUND: { errorCode: 40403, status: 404, doc: 'Consumer instance not found.' },
  ROUTE_NOT_FOUND: { errorCode: 40404, status: 404, doc: 'No such resource.' },
  GROUP_NOT_FOUND: { errorCode: 40405, status: 404, doc: 'Consumer group not found.' },
  TRANSACTION_NOT_FOUND: { errorCode: 40407, status: 404, doc: 'Transaction not found: unknown, or forgotten after it ended.' },
  RECEIPT_NOT_FOUND: { errorCode: 40406, status: 404, doc: 'Receipt not found: unknown, or expired (receipts of requests without an Idempotency-Key do not survive a restart).' },
  // 405, 406
  METHOD_NOT_ALLOWED: { errorCode: 40501, status: 405, doc: 'Method not allowed on this resource.' },
  NOT_ACCEPTABLE: { errorCode: 40601, status: 406, doc: 'The Accept header asks for a representation this resource does not serve.' },
  // 409: the request conflicts with current state
  CONSUMER_ALREADY_SUBSCRIBED: { errorCode: 40901, status: 409, doc: 'Consumer instance already subscribed or assigned.' },
  CONSUMER_ALREADY_EXISTS: { errorCode: 40902, status: 409, doc: 'A consumer instance with that name already exists in the group.' },
  ILLEGAL_STATE: { errorCode: 40903, status: 409, doc: 'Operation not valid in the current state.' },
  TOPIC_ALREADY_EXISTS: { errorCode: 40904, status: 409, doc: 'Topic already exists.' },
  TRANSACTION_STATE: { errorCode: 40905, status: 409, doc: 'The transaction is not open: already committed or aborted (records after commit, commit twice, commit after abort).' },
  TRANSACTION_FENCED: { errorCode: 40906, status: 409, doc: 'A newer session of the same transactional id fenced this transaction (its producer epoch is stale).' },
  TRANSACTION_EXPIRED: { errorCode: 40907, status: 409, doc: 'The transaction was open past its timeout and the coordinator aborted it.' },
  TRANSACTION_OFFSETS_REFUSED: { errorCode: 40908, status: 409, doc: 'The group refused the offsets: the member is unknown or of another generation, or the group is rebalancing.' },
  // 413, 415, 416
  PAYLOAD_TOO_LARGE: { errorCode: 41301, status: 413, doc: 'Request body larger than the configured limit.' },
  RECORD_TOO_LARGE: { errorCode: 41302, status: 413, doc: "A record batch is larger than the topic's max.message.bytes." },
  UNSUPPORTED_MEDIA_TYPE: { errorCode: 41501, status: 415, doc: 'Content type not supported by this resource.' },
  OFFSET_OUT_OF_RANGE: { errorCode: 41601, status: 416, doc: 'Offset below the log start offset or above the high watermark.' },
  // 422: the payload is well-formed but its content is unusable
  KEY_SCHEMA_MISSING: { errorCode: 42201, status: 422, doc: 'Request includes keys but no key schema (schema formats are not supported).' },
  VALUE_SCHEMA_MISSING: { errorCode: 42202, status: 422, doc: 'Request includes values but no value schema (schema formats are not supported).' },
  RECORD_CONVERSION: { errorCode: 42203, status: 422, doc: 'A key, value or header cannot be converted to bytes in the embedded format (e.g. invalid base64).' },
  INVALID_CONSUMER_CONFIG: { errorCode: 42204, status: 422, doc: 'Invalid consumer configuration.' },
  NO_RECORDS: { errorCode: 42205, status: 422, doc: 'The request carries no records.' },
  IDEMPOTENCY_KEY_REUSED: { errorCode: 42209, status: 422, doc: 'The Idempotency-Key was first used for a different request (method, path, content type or body); nothing was written.' },
  // 429
  RATE_LIMITED: { errorCode: 42901, status: 429, doc: 'Too many requests.' },
  // 5xx
  INTERNAL_ERROR: { errorCode: 50001, status: 500, doc: 'Unexpected server error.' },
  TRANSACTIONS_UNSUPPORTED: { errorCode: 50101, status: 501, doc: 'The storage engine does not serve transactions (a Kafka cluster that cannot write transaction markers).' },
  ENGINE_ERROR: { errorCode: 50002, status: 500, doc: 'The storage engine failed the request.' },
  ENGINE_RETRIABLE: { errorCode: 50003, status: 500, doc: 'The storage engine failed with a retriable error; retrying may succeed.' },
  SHUTTING_DOWN: { errorCode: 50301, status: 503, doc: 'The server is shutting down.' },
  ENGINE_UNAVAILABLE: { errorCode: 50302, status: 503, doc: 'The storage engine is unavailable (cluster unreachable, partition offline).' },
} as const satisfies Record<string, { errorCode: number; status: number; doc: string }>;

export type ErrorName = keyof typeof ERRORS;

/** An error meant for the client: rendered as `{"error_code": N, "message": "..."}`. */
export class ApiError extends Error {
  readonly errorCode: number;
  readonly status: number;

  constructor(readonly kind: ErrorName, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.errorCode = ERRORS[kind].errorCode;
    this.status = ERRORS[kind].status;
  }
}

const ENGINE_TO_API: Partial<Record<EngineErrorCode, ErrorName>> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'TOPIC_NOT_FOUND',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  INVALID_TOPIC_EXCEPTION: 'INVALID_TOPIC_NAME',
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  INVALID_REPLICATION_FACTOR: 'INVALID_REQUEST',
  INVALID_CONFIG: 'INVALID_TOPIC_CONFIG',
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_RECORD: 'RECORD_CONVERSION',
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  UNSUPPORTED_COMPRESSION_TYPE: 'INVALID_TOPIC_CONFIG',
  LEADER_NOT_AVAILABLE: 'ENGINE_UNAVAILABLE',
  BROKER_NOT_AVAILABLE: 'ENGINE_UNAVAILABLE',
  KAFKA_STORAGE_ERROR: 'ENGINE_UNAVAILABLE',
  ENGINE_CLOSED: 'SHUTTING_DOWN',
};

/**
 * Maps an engine error to the client's view. UNKNOWN_TOPIC_OR_PARTITION is 40402 when the caller
 * knows the topic exists (`partitionContext`), as Kafka's one code covers both cases.
 */
export function fromEngineError(err: EngineError, partitionContext = false): ApiError {
  let kind: ErrorName = ENGINE_TO_API[err.code] ?? (err.retriable ? 'ENGINE_RETRIABLE' : 'ENGINE_ERROR');
  if (kind === 'TOPIC_NOT_FOUND' && partitionContext) kind = 'PARTITION_NOT_FOUND';
  return new ApiError(kind, err.message, { cause: err });
}

export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof EngineError) return fromEngineError(err);
  return undefined;
}
