import { EngineError, isEngineError, type EngineErrorCode } from '../engine-error';

/**
 * kafkajs errors to EngineError. Protocol errors carry Kafka's error name in `type`; most names are
 * Basket's codes already, the rest map to the nearest code below. Client-side failures map by
 * class name: no connection is BROKER_NOT_AVAILABLE, no answer in time is REQUEST_TIMED_OUT, an API
 * the cluster lacks is UNSUPPORTED_VERSION.
 *
 * `retriable` is kafkajs's flag, with one exception: when kafkajs gave up after its own retries
 * (KafkaJSNumberOfRetriesExceeded, never retriable itself) the last underlying error decides, since
 * a later request may well succeed once the broker is back. The kafkajs error is kept as `cause`.
 */
const SAME_NAME: ReadonlySet<string> = new Set<EngineErrorCode>([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'TOPIC_ALREADY_EXISTS',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'INVALID_REQUEST',
  'INVALID_RECORD',
  'OFFSET_OUT_OF_RANGE',
  'CORRUPT_MESSAGE',
  'KAFKA_STORAGE_ERROR',
  'LEADER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'TOPIC_AUTHORIZATION_FAILED',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'PRODUCER_FENCED',
  'INVALID_TXN_STATE',
  'TRANSACTIONAL_ID_NOT_FOUND',
  'INVALID_TRANSACTION_TIMEOUT',
]);

/** Kafka error names that are not Basket codes: the nearest code. */
const RENAMED: Readonly<Record<string, EngineErrorCode>> = {
  NOT_LEADER_FOR_PARTITION: 'NOT_LEADER_OR_FOLLOWER',
  NOT_LEADER_OR_FOLLOWER: 'NOT_LEADER_OR_FOLLOWER',
  FENCED_LEADER_EPOCH: 'NOT_LEADER_OR_FOLLOWER',
  UNKNOWN_LEADER_EPOCH: 'LEADER_NOT_AVAILABLE',
  REPLICA_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  PREFERRED_LEADER_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  NOT_CONTROLLER: 'BROKER_NOT_AVAILABLE',
  NETWORK_EXCEPTION: 'BROKER_NOT_AVAILABLE',
  MESSAGE_TOO_LARGE: 'RECORD_TOO_LARGE',
  RECORD_LIST_TOO_LARGE: 'RECORD_TOO_LARGE',
  INVALID_TIMESTAMP: 'INVALID_RECORD',
  INVALID_REQUIRED_ACKS: 'INVALID_REQUEST',
  INVALID_FETCH_SIZE: 'INVALID_REQUEST',
  INVALID_REPLICA_ASSIGNMENT: 'INVALID_REQUEST',
  POLICY_VIOLATION: 'INVALID_CONFIG',
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 'UNSUPPORTED_VERSION',
  CLUSTER_AUTHORIZATION_FAILED: 'TOPIC_AUTHORIZATION_FAILED',
  SASL_AUTHENTICATION_FAILED: 'BROKER_NOT_AVAILABLE',
  UNSUPPORTED_SASL_MECHANISM: 'BROKER_NOT_AVAILABLE',
  ILLEGAL_SASL_STATE: 'BROKER_NOT_AVAILABLE',
  OFFSET_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  INVALID_PRODUCER_ID_MAPPING: 'UNKNOWN_PRODUCER_ID',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'TOPIC_AUTHORIZATION_FAILED',
};

/** kafkajs client-side error classes (by `name`) that carry no protocol error name. */
const BY_CLASS: Readonly<Record<string, EngineErrorCode>> = {
  KafkaJSConnectionError: 'BROKER_NOT_AVAILABLE',
  KafkaJSConnectionClosedError: 'BROKER_NOT_AVAILABLE',
  KafkaJSBrokerNotFound: 'BROKER_NOT_AVAILABLE',
  KafkaJSNoBrokerAvailableError: 'BROKER_NOT_AVAILABLE',
  KafkaJSSASLAuthenticationError: 'BROKER_NOT_AVAILABLE',
  KafkaJSMetadataNotLoaded: 'LEADER_NOT_AVAILABLE',
  KafkaJSTopicMetadataNotLoaded: 'LEADER_NOT_AVAILABLE',
  KafkaJSStaleTopicMetadataAssignment: 'LEADER_NOT_AVAILABLE',
  KafkaJSRequestTimeoutError: 'REQUEST_TIMED_OUT',
  KafkaJSTimeout: 'REQUEST_TIMED_OUT',
  KafkaJSLockTimeout: 'REQUEST_TIMED_OUT',
  KafkaJSServerDoesNotSupportApiKey: 'UNSUPPORTED_VERSION',
  KafkaJSNotImplemented: 'UNSUPPORTED_VERSION',
  KafkaJSUnsupportedMagicByteInMessageSet: 'UNSUPPORTED_VERSION',
  KafkaJSPartialMessageError: 'CORRUPT_MESSAGE',
  KafkaJSInvalidVarIntError: 'CORRUPT_MESSAGE',
  KafkaJSInvalidLongError: 'CORRUPT_MESSAGE',
  KafkaJSOffsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
};

interface KafkajsLikeError {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

function codeFor(err: KafkajsLikeError): EngineErrorCode | undefined {
  if (err.type !== undefined) {
    if (SAME_NAME.has(err.type)) return err.type as EngineErrorCode;
    const renamed = RENAMED[err.type];
    if (renamed !== undefined) return renamed;
  }
  return err.name === undefined ? undefined : BY_CLASS[err.name];
}

/**
 * Maps any error thrown by kafkajs (or by the engine's own code) to an EngineError.
 * `context` names the operation ("append to orders-2") and prefixes the message.
 */
export function toEngineError(err: unknown, context?: string): EngineError {
  if (isEngineError(err)) return err;
  const prefix = context === undefined ? '' : `${context}: `;
  if (typeof err !== 'object' || err === null) {
    return new EngineError('UNKNOWN_SERVER_ERROR', `${prefix}${String(err)}`, { retriable: false, cause: err });
  }
  const e = err as KafkajsLikeError;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' && typeof e.cause === 'object' && e.cause !== null && e.cause !== err) {
    const last = toEngineError(e.cause, context);
    return new EngineError(last.code, `${last.message} (gave up after retries)`, { retriable: last.retriable, cause: err });
  }
  if (e.name === 'KafkaJSAggregateError' && Array.isArray(e.errors) && e.errors.length > 0) {
    const first = toEngineError(e.errors[0], context);
    return new EngineError(first.code, first.message, { retriable: first.retriable, cause: err });
  }
  const message = `${prefix}${e.message ?? String(err)}`;
  const code = codeFor(e);
  if (code !== undefined) return new EngineError(code, message, { retriable: e.retriable ?? undefined, cause: err });
  // A Kafka error Basket has no code for (NOT_ENOUGH_REPLICAS, ...): keep its name in the message.
  const named = e.type !== undefined && e.type !== 'UNKNOWN' ? `${prefix}${e.type}: ${e.message ?? ''}` : message;
  return new EngineError('UNKNOWN_SERVER_ERROR', named, { retriable: e.retriable === true, cause: err });
}
