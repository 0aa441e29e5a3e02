import { CoordinatorError, isCoordinatorError, type CoordinatorErrorCode } from '../../coordinator/group/coordinator-error';
import type { EngineError } from '../engine-error';
import { toEngineError } from './kafka-error-mapping';

/**
 * kafkajs errors from group requests to the group coordinator's errors. Kafka's group errors are
 * the CoordinatorError codes (some under their older names in kafkajs); a coordinator that cannot be
 * reached (no connection, no answer in time, moved) is COORDINATOR_NOT_AVAILABLE, which members
 * retry. Anything else stays an EngineError with Kafka's name in its message (an unknown topic in a
 * commit, an API the cluster does not offer, an authorization failure), which the HTTP layer maps.
 */
const SAME_NAME: ReadonlySet<string> = new Set<CoordinatorErrorCode>([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_GROUP_ID',
  'INVALID_SESSION_TIMEOUT',
  'GROUP_ID_NOT_FOUND',
  'NON_EMPTY_GROUP',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'OFFSET_METADATA_TOO_LARGE',
  'INVALID_COMMIT_OFFSET_SIZE',
]);

const RENAMED: Readonly<Record<string, CoordinatorErrorCode>> = {
  GROUP_COORDINATOR_NOT_AVAILABLE: 'COORDINATOR_NOT_AVAILABLE',
  NOT_COORDINATOR_FOR_GROUP: 'COORDINATOR_NOT_AVAILABLE',
  NOT_COORDINATOR: 'COORDINATOR_NOT_AVAILABLE',
  GROUP_LOAD_IN_PROGRESS: 'COORDINATOR_LOAD_IN_PROGRESS',
  // A static member replaced by another instance with its id: for this member, it is gone.
  FENCED_INSTANCE_ID: 'UNKNOWN_MEMBER_ID',
};

/** Engine codes that mean the coordinator could not be reached or did not answer. */
const UNREACHABLE: ReadonlySet<string> = new Set(['BROKER_NOT_AVAILABLE', 'REQUEST_TIMED_OUT', 'LEADER_NOT_AVAILABLE', 'ENGINE_CLOSED']);

/** Kafka names the coordinator uses for "ask another broker": the cached coordinator is stale. */
export function isNotCoordinator(err: unknown): boolean {
  const type = (err as { type?: string } | null)?.type;
  return type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'NOT_COORDINATOR' || type === 'GROUP_COORDINATOR_NOT_AVAILABLE';
}

export function toGroupError(err: unknown, context: string): CoordinatorError | EngineError {
  if (isCoordinatorError(err)) return err;
  const type = (err as { type?: string } | null)?.type;
  if (type !== undefined) {
    const code = SAME_NAME.has(type) ? (type as CoordinatorErrorCode) : RENAMED[type];
    if (code !== undefined) return new CoordinatorError(code, `${context}: ${(err as Error).message ?? type} (${type})`, { cause: err });
  }
  const engineError = toEngineError(err, context);
  if (UNREACHABLE.has(engineError.code)) {
    return new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `${engineError.message}`, { cause: engineError });
  }
  return engineError;
}
