import type { OffsetCommitRequest } from '../group/group-coordinator';
import type { TransactionMetadata, TxnOffset, TxnTopicPartition } from './transaction-metadata';

/**
 * The transaction coordinator contract: Kafka's InitProducerId (a session for a transactional id,
 * fencing the previous one), AddPartitionsToTxn, AddOffsetsToTxn + TxnOffsetCommit, EndTxn, and
 * DescribeTransactions, addressed by the HTTP resource id of one transaction. No HTTP types appear
 * here. Every method throws `TransactionError` (transaction-error.ts) for expected failures.
 */
export interface BeginTransactionRequest {
  /** Kafka's transactional.id; generated when absent (the session cannot then be fenced by a client). */
  transactionalId?: string;
  /** Kafka's transaction.timeout.ms; the coordinator's default when absent. */
  timeoutMs?: number;
  /** Partitions known at the start (the one-shot form): added in the same durable step. */
  partitions?: TxnTopicPartition[];
}

export interface EndTransactionOptions {
  /** The request's Idempotency-Key: a retried commit or abort with it gets `answer` again. */
  key?: string;
  /** Stored with the decision; returned to a retry with the same key (the one-shot form's offsets). */
  answer?: unknown;
}

export interface TransactionCoordinator {
  /** Replays the state and ends what a crash left open; call before serving. */
  start(): Promise<void>;
  close(): Promise<void>;

  begin(request: BeginTransactionRequest): Promise<TransactionMetadata>;
  /** Records the partitions the transaction is about to write, durably, before the first append to each. */
  addPartitions(transactionId: string, partitions: TxnTopicPartition[]): Promise<TransactionMetadata>;
  /** Offsets committed with the transaction; checked against the group's membership now. */
  addOffsets(transactionId: string, request: Omit<OffsetCommitRequest, 'offsets'> & { offsets: TxnOffset[] }): Promise<TransactionMetadata>;
  /** Commit or abort: resolves once every marker (and, for a commit, every offset) is written. */
  end(transactionId: string, commit: boolean, options?: EndTransactionOptions): Promise<TransactionMetadata>;
  /** The transaction's state (also of one already ended, while the coordinator remembers it). */
  describe(transactionId: string): TransactionMetadata;
  /** The current metadata of a transactional id, if any. */
  byTransactionalId(transactionalId: string): TransactionMetadata | undefined;
  /** Drops a transactional id's state (a tombstone); only when no transaction is open. */
  forget(transactionalId: string): Promise<void>;
}

/** What the transaction coordinator needs from the group coordinator (Kafka's TxnOffsetCommit, split in two). */
export interface TransactionalOffsetSink {
  /** The membership check of an offset commit, without writing it. */
  validateTxnOffsetCommit(request: OffsetCommitRequest): Promise<void>;
  /** Writes offsets a committed transaction decided; no membership check (it was done when they were sent). */
  commitTxnOffsets(groupId: string, offsets: TxnOffset[]): Promise<void>;
}
