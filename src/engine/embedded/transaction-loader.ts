import { decodeRecords } from './codec/record-batch';
import type { PartitionLog } from './partition-log';
import { controlType } from './transaction-control-record';
import { loadSavedTransactions, saveTransactions } from './transaction-index';

/**
 * Start-up of a partition's transactions (see transaction-state.ts): from the state saved at the
 * last clean close when it describes the log end, else by replaying every batch header from the
 * log start offset. Returns how it went, for the load log line.
 */
export async function loadPartitionTransactions(log: PartitionLog): Promise<'none' | 'saved' | 'replayed'> {
  const txns = log.transactions;
  if (!txns.isFlagged) return 'none';
  const end = log.highWatermark;
  const saved = await loadSavedTransactions(log.dir, log.logStartOffset, end);
  if (saved !== undefined) {
    txns.restore(saved.open, saved.aborted);
    return 'saved';
  }
  txns.restore([], []);
  await log.forEachBatch(log.logStartOffset, (header, batch) => {
    if (!header.isTransactional) return;
    // A control batch holds one uncompressed record: its key says commit or abort.
    const control = header.isControl ? controlType(decodeRecords(batch.buf, batch.pos)[0]?.key ?? null) : undefined;
    txns.replay(header, control);
  });
  return 'replayed';
}

/** At a clean close, after the last write: the state the next start loads instead of replaying. */
export async function savePartitionTransactions(log: PartitionLog, logEndOffset: number): Promise<void> {
  const txns = log.transactions;
  if (!txns.isFlagged) return;
  await saveTransactions(log.dir, log.segmentBaseOffsets(), { offset: logEndOffset, open: txns.openTransactions(), aborted: txns.abortedTransactions() });
}
