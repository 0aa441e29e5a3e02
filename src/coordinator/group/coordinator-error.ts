/**
 * Errors of the group coordinator, with Kafka's protocol error names so that a coordinator backed by
 * a Kafka cluster maps its errors one to one. `retriable` follows Kafka: the member may retry after
 * doing what the error asks (join again, wait for the rebalance).
 */
export type CoordinatorErrorCode =
  | 'UNKNOWN_MEMBER_ID'
  | 'ILLEGAL_GENERATION'
  | 'REBALANCE_IN_PROGRESS'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'INVALID_GROUP_ID'
  | 'INVALID_SESSION_TIMEOUT'
  | 'GROUP_ID_NOT_FOUND'
  | 'NON_EMPTY_GROUP'
  | 'COORDINATOR_NOT_AVAILABLE'
  | 'COORDINATOR_LOAD_IN_PROGRESS'
  | 'OFFSET_METADATA_TOO_LARGE'
  | 'INVALID_COMMIT_OFFSET_SIZE';

const RETRIABLE: ReadonlySet<CoordinatorErrorCode> = new Set<CoordinatorErrorCode>([
  'REBALANCE_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

export class CoordinatorError extends Error {
  readonly code: CoordinatorErrorCode;
  readonly retriable: boolean;

  constructor(code: CoordinatorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoordinatorError';
    this.code = code;
    this.retriable = RETRIABLE.has(code);
  }
}

export function isCoordinatorError(err: unknown, code?: CoordinatorErrorCode): err is CoordinatorError {
  return err instanceof CoordinatorError && (code === undefined || err.code === code);
}
