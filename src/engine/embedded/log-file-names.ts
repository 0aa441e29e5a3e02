import * as path from 'node:path';

/**
 * Every name the embedded engine gives a file or directory, in one place. A segment's files are
 * named by its base offset, zero-padded to 20 digits so that a directory listing sorts them in
 * offset order (Kafka's layout, so a Kafka tool reading the directory finds what it expects).
 */
export const LOG_FILE_SUFFIX = '.log';
export const INDEX_FILE_SUFFIX = '.index';
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
export const TXN_INDEX_FILE_SUFFIX = '.txnindex';
export const PRODUCER_SNAPSHOT_FILE_SUFFIX = '.snapshot';
/** Kafka's suffix for a segment file awaiting deletion; start-up removes any it finds. */
export const DELETED_FILE_SUFFIX = '.deleted';
/** A file being written before an atomic rename over its final name. */
export const TEMP_FILE_SUFFIX = '.tmp';
/** A partition directory of a deleted topic: `<topic>-<partition>.<topicId>-delete`. */
export const DELETE_DIR_SUFFIX = '-delete';

/** Present only between a clean close and the next start: its absence means the last run crashed. */
export const CLEAN_SHUTDOWN_FILE = '.basket_cleanshutdown';
/** Per data dir: for each partition, the offset below which everything is known to be fsynced. */
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
/** Per data dir: each partition's log start offset, advanced by retention. */
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
/** Per partition dir: the topic id the directory belongs to. */
export const PARTITION_METADATA_FILE = 'partition.metadata';
/** Per partition dir: present once the partition has had a transactional batch (its transactions are rebuilt at start). */
export const TRANSACTIONAL_FLAG_FILE = 'transactional';
/** Directory of the metadata log (topics and their configs). */
export const METADATA_DIR = 'meta';

const OFFSET_DIGITS = 20;

export function filenamePrefixFromOffset(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

export function logFile(dir: string, baseOffset: number): string {
  return path.join(dir, filenamePrefixFromOffset(baseOffset) + LOG_FILE_SUFFIX);
}

export function offsetIndexFile(dir: string, baseOffset: number): string {
  return path.join(dir, filenamePrefixFromOffset(baseOffset) + INDEX_FILE_SUFFIX);
}

export function timeIndexFile(dir: string, baseOffset: number): string {
  return path.join(dir, filenamePrefixFromOffset(baseOffset) + TIME_INDEX_FILE_SUFFIX);
}

/** The base offset a segment file name carries, or undefined for a name that is not one. */
export function offsetFromFileName(name: string): number | undefined {
  const match = /^(\d{20})\.[a-z]+$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Splits `<topic>-<partition>`; the topic itself may contain '-', the partition never does. */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | undefined {
  const match = /^(.+)-(\d+)$/.exec(name);
  if (match === null) return undefined;
  return { topic: match[1], partition: Number(match[2]) };
}

export function deleteDirName(topic: string, partition: number, topicId: string): string {
  return `${partitionDirName(topic, partition)}.${topicId}${DELETE_DIR_SUFFIX}`;
}
