/**
 * Errors of the transaction coordinator, with Kafka's protocol error names where Kafka has one.
 * TRANSACTION_EXPIRED is ours: the transaction was aborted by the coordinator after its timeout
 * (Kafka tells the producer through a fenced epoch; over HTTP the cause is worth naming).
 */
export type TransactionErrorCode =
  | 'TRANSACTION_NOT_FOUND'
  | 'INVALID_TXN_STATE'
  | 'PRODUCER_FENCED'
  | 'TRANSACTION_EXPIRED'
  | 'INVALID_TRANSACTION_TIMEOUT'
  | 'INVALID_REQUEST'
  | 'TRANSACTIONS_UNSUPPORTED'
  | 'COORDINATOR_NOT_AVAILABLE';

export class TransactionError extends Error {
  readonly code: TransactionErrorCode;
  readonly retriable: boolean;

  constructor(code: TransactionErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransactionError';
    this.code = code;
    this.retriable = code === 'COORDINATOR_NOT_AVAILABLE';
  }
}

export function isTransactionError(err: unknown, code?: TransactionErrorCode): err is TransactionError {
  return err instanceof TransactionError && (code === undefined || err.code === code);
}
