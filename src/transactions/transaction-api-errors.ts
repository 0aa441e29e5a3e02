import { ApiError } from '../errors';
import { EngineError } from '../engine/engine-error';
import { CoordinatorError } from '../coordinator/group/coordinator-error';
import { fromCoordinatorError } from '../consumer/coordinator-api-errors';
import { TransactionError } from '../coordinator/transaction/transaction-error';

/**
 * The client's view of a transaction step's failure: state conflicts are the 409 family (a closed
 * transaction 40905, a fenced session 40906, a timed-out one 40907, offsets the group refuses 40908),
 * an unknown transaction 40407, a coordinator that cannot serve 50302.
 */
export function transactionApiError(err: unknown, offsetsStep = false): unknown {
  if (err instanceof TransactionError) {
    switch (err.code) {
      case 'TRANSACTION_NOT_FOUND':
        return new ApiError('TRANSACTION_NOT_FOUND', err.message, { cause: err });
      case 'INVALID_TXN_STATE':
        return new ApiError('TRANSACTION_STATE', err.message, { cause: err });
      case 'PRODUCER_FENCED':
        return new ApiError('TRANSACTION_FENCED', err.message, { cause: err });
      case 'TRANSACTION_EXPIRED':
        return new ApiError('TRANSACTION_EXPIRED', err.message, { cause: err });
      case 'INVALID_TRANSACTION_TIMEOUT':
      case 'INVALID_REQUEST':
        return new ApiError('INVALID_REQUEST', err.message, { cause: err });
      case 'TRANSACTIONS_UNSUPPORTED':
        return new ApiError('TRANSACTIONS_UNSUPPORTED', err.message, { cause: err });
      case 'COORDINATOR_NOT_AVAILABLE':
        return new ApiError('ENGINE_UNAVAILABLE', err.message, { cause: err });
    }
  }
  if (err instanceof CoordinatorError) {
    const membership = err.code === 'ILLEGAL_GENERATION' || err.code === 'UNKNOWN_MEMBER_ID' || err.code === 'REBALANCE_IN_PROGRESS';
    if (offsetsStep && membership) return new ApiError('TRANSACTION_OFFSETS_REFUSED', `${err.message} (${err.code})`, { cause: err });
    return fromCoordinatorError(err);
  }
  if (err instanceof EngineError && (err.code === 'INVALID_PRODUCER_EPOCH' || err.code === 'PRODUCER_FENCED')) {
    return new ApiError('TRANSACTION_FENCED', err.message, { cause: err });
  }
  return err;
}
