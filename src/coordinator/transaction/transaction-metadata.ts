/**
 * Kafka's TransactionMetadata: the coordinator's view of one transactional id, and the state table
 * its transitions must follow. Each state lists the states it may be entered from; a transition not
 * in the table is a bug, not a client error.
 *
 *   Empty          a producer id and epoch, no transaction yet
 *   Ongoing        a transaction is open: partitions and offsets are being added
 *   PrepareCommit  the commit is decided (durable); markers are being written
 *   PrepareAbort   the abort is decided (durable); markers are being written
 *   CompleteCommit every marker and offset is written
 *   CompleteAbort  every marker is written
 *   Dead           the transactional id expired; its metadata is about to go
 */
export type TransactionStateName = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead';

export const VALID_PREVIOUS_STATES: Readonly<Record<TransactionStateName, readonly TransactionStateName[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
};

export interface TxnTopicPartition {
  topic: string;
  partition: number;
}

export interface TxnOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/** Offsets sent in the transaction for one group: committed only when the transaction commits. */
export interface PendingGroupOffsets {
  groupId: string;
  offsets: TxnOffset[];
}

export interface TransactionMetadata {
  transactionalId: string;
  /** The HTTP resource of the current transaction; a new session gets a new one. */
  transactionId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TransactionStateName;
  /** Partitions written in the transaction, sorted, no duplicates. */
  partitions: TxnTopicPartition[];
  pendingOffsets: PendingGroupOffsets[];
  /** When the open transaction started; -1 when none is open. */
  startTimestamp: number;
  lastUpdateTimestamp: number;
  /** The coordinator made up the transactional id (the client named none): nothing can resume it, so it is forgotten once ended. */
  generated?: boolean;
  /** Why the transaction was aborted when the client did not ask: 'timeout', 'restart' or 'fenced'. */
  abortReason?: string;
  /** The Idempotency-Key of the commit or abort request, and what it was answered, so a retry gets the same answer. */
  endKey?: string;
  answer?: unknown;
}

export function isTransition(from: TransactionStateName, to: TransactionStateName): boolean {
  return VALID_PREVIOUS_STATES[to].includes(from);
}

/** The metadata after a transition; throws when the table does not allow it. */
export function transition(meta: TransactionMetadata, to: TransactionStateName, changes: Partial<TransactionMetadata>, now: number): TransactionMetadata {
  if (!isTransition(meta.state, to)) throw new Error(`Transaction '${meta.transactionalId}' cannot go from ${meta.state} to ${to}`);
  return { ...meta, ...changes, state: to, lastUpdateTimestamp: now };
}

/** The union of two partition lists, sorted by topic then partition. */
export function mergePartitions(a: readonly TxnTopicPartition[], b: readonly TxnTopicPartition[]): TxnTopicPartition[] {
  const byKey = new Map<string, TxnTopicPartition>();
  for (const tp of [...a, ...b]) byKey.set(`${tp.topic}\u0000${tp.partition}`, { topic: tp.topic, partition: tp.partition });
  return [...byKey.values()].sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

/** Adds a group's offsets; a later offset for the same partition replaces the earlier one. */
export function mergeOffsets(pending: readonly PendingGroupOffsets[], groupId: string, offsets: readonly TxnOffset[]): PendingGroupOffsets[] {
  const out = pending.map((g) => ({ groupId: g.groupId, offsets: [...g.offsets] }));
  let group = out.find((g) => g.groupId === groupId);
  if (group === undefined) out.push((group = { groupId, offsets: [] }));
  for (const o of offsets) {
    const i = group.offsets.findIndex((x) => x.topic === o.topic && x.partition === o.partition);
    if (i >= 0) group.offsets[i] = { ...o };
    else group.offsets.push({ ...o });
  }
  return out;
}
