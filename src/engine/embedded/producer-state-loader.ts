import type { Logger } from 'pino';
import type { RecordBatchHeader } from './codec/record-batch';
import { CorruptSnapshotError, deleteSnapshot, listSnapshotOffsets, readSnapshot } from './producer-state-snapshot';
import type { ProducerStateManager } from './producer-state-manager';

/** Reads a partition's batch headers in offset order from `from` to the log end. */
export type BatchHeaderSource = (from: number, visit: (header: RecordBatchHeader) => void) => Promise<void>;

export interface ProducerStateLoadParams {
  dir: string;
  name: string;
  manager: ProducerStateManager;
  logStartOffset: number;
  /** The recovered log's end: snapshots past it describe batches a crash cut off. */
  logEndOffset: number;
  readBatches: BatchHeaderSource;
  now: number;
  expirationMs: number;
  logger: Logger;
}

export interface ProducerStateLoadStats {
  /** Offset of the snapshot the state started from; undefined when it was rebuilt from the log start. */
  snapshotOffset: number | undefined;
  batchesReplayed: number;
  snapshotsDeleted: number;
}

/**
 * Kafka's producer state rebuild (UnifiedLog.rebuildProducerState): snapshots past the log end are
 * deleted (a crash truncated what they describe), the latest remaining readable one is loaded, and
 * the batches from its offset to the log end are replayed (snapshots below the log start go too). Snapshots are taken at every segment roll
 * and at close, so after a clean shutdown nothing is replayed and after a crash at most the active
 * segment is. A corrupt snapshot is deleted and the next older one tried; with none, the whole log
 * is replayed.
 */
export async function loadProducerState(params: ProducerStateLoadParams): Promise<ProducerStateLoadStats> {
  const { dir, manager, logEndOffset } = params;
  const stats: ProducerStateLoadStats = { snapshotOffset: undefined, batchesReplayed: 0, snapshotsDeleted: 0 };
  const offsets = await listSnapshotOffsets(dir);
  let start = params.logStartOffset;
  manager.clear(start);
  for (let i = offsets.length - 1; i >= 0; i--) {
    const offset = offsets[i];
    if (offset > logEndOffset || offset < params.logStartOffset) {
      // Past the end: it describes batches a crash cut off. Below the start: the batches between it
      // and the log start are gone, so it cannot be brought forward. Kafka drops both.
      await deleteSnapshot(dir, offset);
      stats.snapshotsDeleted++;
      continue;
    }
    if (stats.snapshotOffset !== undefined) continue;
    try {
      manager.restore(await readSnapshot(dir, offset), offset);
      stats.snapshotOffset = offset;
      start = offset;
    } catch (err) {
      if (!(err instanceof CorruptSnapshotError)) throw err;
      params.logger.warn({ err, partition: params.name }, 'deleting a corrupt producer state snapshot');
      await deleteSnapshot(dir, offset);
      stats.snapshotsDeleted++;
    }
  }
  if (start < logEndOffset) {
    await params.readBatches(start, (header) => {
      manager.replay(header);
      stats.batchesReplayed++;
    });
  }
  manager.mapEndOffset = logEndOffset;
  manager.removeExpired(params.now, params.expirationMs);
  return stats;
}
