import { ApiError } from '../errors';
import type { CoordinatorError } from '../coordinator/group/coordinator-error';

/**
 * The client's view of a coordinator error. Membership conflicts (a stale generation, an unknown
 * member, a rebalance under way, a group with members) are 40903, naming Kafka's error so the cause
 * is plain; a coordinator that cannot serve is 50302, which clients may retry.
 */
export function fromCoordinatorError(err: CoordinatorError): ApiError {
  const message = `${err.message} (${err.code})`;
  switch (err.code) {
    case 'GROUP_ID_NOT_FOUND':
      return new ApiError('GROUP_NOT_FOUND', err.message, { cause: err });
    case 'INVALID_GROUP_ID':
    case 'INVALID_SESSION_TIMEOUT':
    case 'OFFSET_METADATA_TOO_LARGE':
    case 'INVALID_COMMIT_OFFSET_SIZE':
      return new ApiError('INVALID_REQUEST', message, { cause: err });
    case 'COORDINATOR_NOT_AVAILABLE':
    case 'COORDINATOR_LOAD_IN_PROGRESS':
      return new ApiError('ENGINE_UNAVAILABLE', message, { cause: err });
    default:
      return new ApiError('ILLEGAL_STATE', message, { cause: err });
  }
}
