import { isCoordinatorError } from '../../coordinator/group/coordinator-error';
import { TransactionError } from '../../coordinator/transaction/transaction-error';
import { isEngineError } from '../engine-error';
import { toGroupError } from './kafka-group-errors';

/**
 * Errors of Kafka's transaction coordinator (as KafkaGroupConnection hands them over: a
 * CoordinatorError or an EngineError) to Basket's TransactionError codes:
 *
 * - a fenced or unknown producer (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED, UNKNOWN_PRODUCER_ID,
 *   INVALID_PRODUCER_ID_MAPPING) is PRODUCER_FENCED: a newer session of the transactional id, or
 *   Kafka's own abort after the transaction timeout, bumped the epoch;
 * - INVALID_TXN_STATE and INVALID_TRANSACTION_TIMEOUT keep their names;
 * - an unreachable or moving coordinator, or any retriable error, is COORDINATOR_NOT_AVAILABLE;
 * - a group's refusal of a TxnOffsetCommit stays a CoordinatorError (the HTTP layer names it);
 * - anything else stays the EngineError it is, with Kafka's name in its message.
 */
export function toTransactionError(err: unknown, context: string): Error {
  const mapped = toGroupError(err, context);
  if (isCoordinatorError(mapped)) {
    if (mapped.code === 'COORDINATOR_NOT_AVAILABLE' || mapped.code === 'COORDINATOR_LOAD_IN_PROGRESS') {
      return new TransactionError('COORDINATOR_NOT_AVAILABLE', mapped.message, { cause: mapped });
    }
    return mapped;
  }
  if (!isEngineError(mapped)) return mapped;
  switch (mapped.code) {
    case 'INVALID_PRODUCER_EPOCH':
    case 'PRODUCER_FENCED':
    case 'UNKNOWN_PRODUCER_ID':
      return new TransactionError('PRODUCER_FENCED', mapped.message, { cause: mapped });
    case 'INVALID_TXN_STATE':
      return new TransactionError('INVALID_TXN_STATE', mapped.message, { cause: mapped });
    case 'INVALID_TRANSACTION_TIMEOUT':
      return new TransactionError('INVALID_TRANSACTION_TIMEOUT', mapped.message, { cause: mapped });
    default:
      if (mapped.retriable) return new TransactionError('COORDINATOR_NOT_AVAILABLE', mapped.message, { cause: mapped });
      return mapped;
  }
}

/** Kafka's CONCURRENT_TRANSACTIONS: the previous transaction's markers are still being written; the client is expected to retry. */
export function isConcurrentTransactions(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { type?: string }).type === 'CONCURRENT_TRANSACTIONS') return true;
  }
  return false;
}
