import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  offsetFromFileName,
  TEMP_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
} from './log-file-names';
import { LogSegment } from './log-segment';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS, PartitionLog, PartitionLogParams } from './partition-log';
import { loadProducerState } from './producer-state-loader';
import { PartitionTransactions } from './transaction-state';
import { loadPartitionTransactions } from './transaction-loader';

/** recoveryPoint and logStartOffset come from the checkpoints (0 when unknown: recover everything). */
export interface LoadLogParams extends Omit<PartitionLogParams, 'segments'> {
  /** True when the data dir held the clean-shutdown marker. */
  cleanShutdown: boolean;
}

export interface LoadStats {
  segments: number;
  segmentsRecovered: number;
  /** Log bytes read through FileOps while loading. */
  bytesRead: number;
  truncatedBytes: number;
  segmentsDeleted: number;
}

/**
 * Kafka's LogLoader: opens one partition's directory at start-up.
 *
 * After a clean shutdown nothing is scanned: old segments are only stat'ed, and the log end offset
 * comes from the active segment's offset index plus the few bytes after its last entry. After a
 * crash, segments from the one holding the recovery point on are re-read: CRCs and offsets checked,
 * indexes rebuilt, the first torn or corrupt batch and everything after it cut off (later segments
 * included, so the log stays contiguous). Segments below the recovery point were fsynced with their
 * indexes and are trusted as after a clean shutdown.
 */
export async function loadPartitionLog(params: LoadLogParams): Promise<{ log: PartitionLog; stats: LoadStats }> {
  const { dir, config, ops } = params;
  await fsp.mkdir(dir, { recursive: true });
  const baseOffsets = await cleanDirectory(dir);
  const now = params.now();
  const stats: LoadStats = { segments: baseOffsets.length, segmentsRecovered: 0, bytesRead: 0, truncatedBytes: 0, segmentsDeleted: 0 };
  let segments = await Promise.all(baseOffsets.map((base) => LogSegment.load(dir, base, config, ops, now)));
  if (segments.length === 0) {
    segments = [LogSegment.create(dir, Math.max(0, params.logStartOffset), config, ops, now)];
  } else if (params.cleanShutdown) {
    const loaded = await segments[segments.length - 1].loadActiveAfterCleanShutdown();
    stats.bytesRead += loaded.bytesRead + (loaded.recovered?.bytesRead ?? 0);
    if (loaded.recovered !== undefined) {
      stats.segmentsRecovered++;
      stats.truncatedBytes += loaded.recovered.truncatedBytes;
    }
  } else {
    segments = await recoverSegments(segments, params.recoveryPoint, stats);
  }
  const transactional = await PartitionTransactions.flagExists(dir);
  const log = new PartitionLog({
    ...params,
    transactional,
    segments,
    // After a clean shutdown everything was flushed: the recovery point is the log end.
    recoveryPoint: params.cleanShutdown ? Number.MAX_SAFE_INTEGER : params.recoveryPoint,
  });
  const producers = await loadProducerState({
    dir,
    name: `${params.topic}-${params.partition}`,
    manager: log.producerState,
    logStartOffset: log.logStartOffset,
    logEndOffset: log.highWatermark,
    readBatches: (from, visit) => log.forEachBatch(from, visit),
    now,
    expirationMs: params.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    logger: params.logger,
  });
  // Open transactions hold the last stable offset back until the transaction coordinator ends them.
  await loadPartitionTransactions(log);
  if (stats.segmentsRecovered > 0) {
    params.logger.info(
      { topic: params.topic, partition: params.partition, ...stats, logEndOffset: log.highWatermark, producerState: producers },
      'recovered partition log',
    );
  }
  return { log, stats };
}

async function recoverSegments(segments: LogSegment[], recoveryPoint: number, stats: LoadStats): Promise<LogSegment[]> {
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1].baseOffset <= recoveryPoint) first++;
  for (let i = first; i < segments.length; i++) {
    const segment = segments[i];
    const result = await segment.recover();
    stats.segmentsRecovered++;
    stats.bytesRead += result.bytesRead;
    stats.truncatedBytes += result.truncatedBytes;
    const next = segments[i + 1];
    const broken = result.stop !== 'end';
    if (next !== undefined && !broken && next.baseOffset >= segment.nextOffset) {
      segment.onBecomeInactive();
      await segment.close(false);
      continue;
    }
    if (next === undefined) break;
    // Everything after a torn batch (or an offset overlap) is gone: later segments with it.
    const dropped = segments.splice(i + 1);
    for (const s of dropped) {
      stats.truncatedBytes += s.size;
      stats.segmentsDeleted++;
      await s.delete();
    }
    break;
  }
  return segments;
}

/**
 * Removes what a crash can leave behind (*.deleted, *.tmp, indexes without a log) and returns the
 * base offsets of the segments, in order.
 */
async function cleanDirectory(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  const logs = new Set<number>();
  for (const name of names) {
    if (name.endsWith(LOG_FILE_SUFFIX)) {
      const base = offsetFromFileName(name);
      if (base !== undefined) logs.add(base);
    }
  }
  for (const name of names) {
    const path_ = path.join(dir, name);
    if (name.endsWith(DELETED_FILE_SUFFIX) || name.endsWith(TEMP_FILE_SUFFIX)) {
      await fsp.rm(path_, { force: true });
    } else if (name.endsWith(INDEX_FILE_SUFFIX) || name.endsWith(TIME_INDEX_FILE_SUFFIX)) {
      const base = offsetFromFileName(name);
      if (base !== undefined && !logs.has(base)) await fsp.rm(path_, { force: true });
    }
  }
  return [...logs].sort((a, b) => a - b);
}
