/**
 * The one error type engines throw. `code` uses Kafka's protocol error names, so that the kafka
 * engine maps kafkajs errors one to one and the HTTP layer maps each code to its `error_code`.
 * `retriable` follows Kafka's classification: a retriable error may succeed if the same request is
 * sent again.
 */
export type EngineErrorCode =
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'TOPIC_ALREADY_EXISTS'
  | 'INVALID_TOPIC_EXCEPTION'
  | 'INVALID_PARTITIONS'
  | 'INVALID_REPLICATION_FACTOR'
  | 'INVALID_CONFIG'
  | 'INVALID_REQUEST'
  | 'INVALID_RECORD'
  | 'RECORD_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_MESSAGE'
  | 'KAFKA_STORAGE_ERROR'
  | 'NOT_LEADER_OR_FOLLOWER'
  | 'LEADER_NOT_AVAILABLE'
  | 'REQUEST_TIMED_OUT'
  | 'BROKER_NOT_AVAILABLE'
  | 'UNSUPPORTED_VERSION'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | 'TOPIC_AUTHORIZATION_FAILED'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'DUPLICATE_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'UNKNOWN_PRODUCER_ID'
  | 'PRODUCER_FENCED'
  | 'INVALID_TXN_STATE'
  | 'TRANSACTIONAL_ID_NOT_FOUND'
  | 'INVALID_TRANSACTION_TIMEOUT'
  | 'ENGINE_CLOSED'
  | 'UNKNOWN_SERVER_ERROR';

const RETRIABLE: ReadonlySet<EngineErrorCode> = new Set<EngineErrorCode>([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'CORRUPT_MESSAGE',
]);

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly retriable: boolean;

  constructor(code: EngineErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE.has(code);
  }
}

export function isEngineError(err: unknown): err is EngineError {
  return err instanceof EngineError;
}
