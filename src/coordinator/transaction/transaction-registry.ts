import { randomBytes } from 'node:crypto';
import type { BeginTransactionRequest } from './transaction-coordinator';
import { fenced, notFound, notOpen, TransactionError } from './transaction-error';
import type { TransactionMetadata } from './transaction-metadata';

/** Transactions of replaced or forgotten sessions still answered by describe. */
const RETIRED_LIMIT = 10_000;
const MAX_TRANSACTIONAL_ID_LENGTH = 255;

/**
 * A coordinator's sessions in memory: the current metadata of each transactional id, the HTTP
 * transaction id of each, and the transactions no longer current (replaced by a newer session, or
 * forgotten once ended), so that a late step learns why (fenced, closed) and describe still answers.
 * Invariant: a transaction id is current (byTxnId) or retired, never both.
 */
export class TransactionRegistry {
  private readonly metas = new Map<string, TransactionMetadata>();
  private readonly byTxnId = new Map<string, string>();
  private readonly retired = new Map<string, { meta: TransactionMetadata; replaced: boolean }>();

  get size(): number {
    return this.metas.size;
  }

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.metas.get(transactionalId);
  }

  values(): TransactionMetadata[] {
    return [...this.metas.values()];
  }

  /**
   * The id's state becomes `meta`; null forgets the id. A previous transaction of the id (another
   * transaction id) is retired: replaced when a new one takes its place, forgotten otherwise.
   */
  apply(transactionalId: string, meta: TransactionMetadata | null): void {
    const old = this.metas.get(transactionalId);
    if (old !== undefined && (meta === null || old.transactionId !== meta.transactionId)) this.retire(old, meta !== null);
    if (meta === null) {
      this.metas.delete(transactionalId);
      return;
    }
    this.metas.set(transactionalId, meta);
    this.byTxnId.set(meta.transactionId, transactionalId);
  }

  /** Forgets the id and its transaction entirely (an expired transactional id): a later step with it is not found. */
  remove(transactionalId: string): void {
    const meta = this.metas.get(transactionalId);
    if (meta === undefined) return;
    this.metas.delete(transactionalId);
    this.byTxnId.delete(meta.transactionId);
  }

  /** A session that lost its producer epoch (a newer session, or the coordinator's own abort elsewhere): retired as replaced. */
  fence(meta: TransactionMetadata): void {
    if (this.metas.get(meta.transactionalId)?.transactionId === meta.transactionId) this.metas.delete(meta.transactionalId);
    this.retire(meta, true);
  }

  /** The transactional id of a current transaction; a replaced one is fenced, a forgotten one closed, an unknown one not found. */
  idOf(transactionId: string, what = 'continue'): string {
    const id = this.byTxnId.get(transactionId);
    if (id !== undefined) return id;
    const old = this.retired.get(transactionId);
    if (old !== undefined) throw old.replaced ? fenced(old.meta) : notOpen(old.meta, what);
    throw notFound(transactionId);
  }

  /** The metadata of a transaction still current for its transactional id. */
  current(transactionId: string): TransactionMetadata {
    const meta = this.metas.get(this.idOf(transactionId));
    if (meta === undefined || meta.transactionId !== transactionId) throw notFound(transactionId);
    return meta;
  }

  /** The transaction's state, current or retired. */
  describe(transactionId: string): TransactionMetadata {
    const id = this.byTxnId.get(transactionId);
    const meta = id === undefined ? this.retired.get(transactionId)?.meta : this.metas.get(id);
    if (meta === undefined) throw notFound(transactionId);
    return meta;
  }

  /** A forgotten transaction ended by `key` as asked (committed for a commit): the answer to a keyed retry. */
  endedByKey(transactionId: string, key: string | undefined, commit: boolean): TransactionMetadata | undefined {
    const forgotten = this.retired.get(transactionId);
    if (forgotten === undefined || forgotten.replaced || key === undefined || forgotten.meta.endKey !== key) return undefined;
    return forgotten.meta.state === (commit ? 'CompleteCommit' : 'CompleteAbort') ? forgotten.meta : undefined;
  }

  private retire(meta: TransactionMetadata, replaced: boolean): void {
    this.byTxnId.delete(meta.transactionId);
    this.retired.set(meta.transactionId, { meta, replaced });
    if (this.retired.size > RETIRED_LIMIT) this.retired.delete(this.retired.keys().next().value as string);
  }
}

/** A begin's transactional id (generated when absent) and timeout, checked as Kafka's coordinator checks them. */
export function beginParameters(request: BeginTransactionRequest, defaultTimeoutMs: number, maxTimeoutMs: number): { transactionalId: string; timeoutMs: number } {
  const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
    throw new TransactionError('INVALID_TRANSACTION_TIMEOUT', `The transaction timeout must be an integer from 1 to ${maxTimeoutMs} ms (transaction.max.timeout.ms), got ${timeoutMs}`);
  }
  const transactionalId = request.transactionalId ?? `basket-${randomBytes(12).toString('hex')}`;
  if (transactionalId.length === 0 || transactionalId.length > MAX_TRANSACTIONAL_ID_LENGTH) {
    throw new TransactionError('INVALID_REQUEST', `A transactional id must have 1 to ${MAX_TRANSACTIONAL_ID_LENGTH} characters`);
  }
  return { transactionalId, timeoutMs };
}
