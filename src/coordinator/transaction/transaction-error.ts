import type { TransactionMetadata } from './transaction-metadata';

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

export function notFound(transactionId: string): TransactionError {
  return new TransactionError('TRANSACTION_NOT_FOUND', `Transaction '${transactionId}' not found (unknown, or forgotten after it ended)`);
}

/** `cause`: the answer that told of the fence (Kafka's error), named in the message. */
export function fenced(old: TransactionMetadata, cause?: Error): TransactionError {
  const message = `Transaction ${old.transactionId} of '${old.transactionalId}' was replaced by a newer session (producer epoch ${old.producerEpoch} is fenced)`;
  return cause === undefined ? new TransactionError('PRODUCER_FENCED', message) : new TransactionError('PRODUCER_FENCED', `${message}: ${cause.message}`, { cause });
}

/** Why a transaction that is not open refuses `what`: the coordinator's own abort has its reason named. */
export function notOpen(meta: TransactionMetadata, what: string): TransactionError {
  if (meta.state === 'CompleteAbort' || meta.state === 'PrepareAbort') {
    if (meta.abortReason === 'timeout') {
      return new TransactionError('TRANSACTION_EXPIRED', `Transaction ${meta.transactionId} was aborted after its timeout of ${meta.timeoutMs} ms; cannot ${what}`);
    }
    if (meta.abortReason === 'restart') {
      return new TransactionError('INVALID_TXN_STATE', `Transaction ${meta.transactionId} was aborted when the server restarted; cannot ${what}`);
    }
  }
  return new TransactionError('INVALID_TXN_STATE', `Transaction ${meta.transactionId} is ${meta.state}; cannot ${what}`);
}
