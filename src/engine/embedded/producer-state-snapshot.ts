import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32c } from './codec/crc32c';
import { readInt64, writeInt64 } from './codec/varint';
import { filenamePrefixFromOffset, offsetFromFileName, PRODUCER_SNAPSHOT_FILE_SUFFIX } from './log-file-names';
import { writeFileDurably } from './offset-checkpoint-file';
import { NUM_BATCHES_TO_RETAIN, type ProducerStateEntry } from './producer-state-manager';

/**
 * A producer state snapshot: `<20-digit offset>.snapshot` in the partition directory, as Kafka
 * names them, where the offset is the log end offset the state covers (every batch below it, none
 * at or above it). Big-endian, written whole to a temporary file, fsynced, renamed, directory fsynced:
 *
 *   0  int16   version (1)
 *   2  uint32  CRC-32C of every byte after this field
 *   6  int32   producer count, then per producer:
 *        int64 producerId, int16 producerEpoch, int64 lastTimestamp, int8 batch count (0..5),
 *        then per batch (oldest first): int32 firstSeq, int32 lastSeq, int64 firstOffset,
 *        int32 lastOffset - firstOffset, int64 timestamp
 *
 * Kafka keeps only the last batch of each producer in its snapshots; this one keeps all retained
 * batches, so a retry that reaches a restarted process is still answered with its offsets.
 */
const VERSION = 1;
const HEADER_SIZE = 10;
const PRODUCER_SIZE = 8 + 2 + 8 + 1;
const BATCH_SIZE = 4 + 4 + 8 + 4 + 8;

export class CorruptSnapshotError extends Error {
  constructor(file: string, reason: string) {
    super(`producer state snapshot ${file}: ${reason}`);
    this.name = 'CorruptSnapshotError';
  }
}

export function snapshotFile(dir: string, offset: number): string {
  return path.join(dir, filenamePrefixFromOffset(offset) + PRODUCER_SNAPSHOT_FILE_SUFFIX);
}

export function encodeSnapshot(entries: Iterable<ProducerStateEntry>): Buffer {
  const list = [...entries];
  let size = HEADER_SIZE;
  for (const e of list) size += PRODUCER_SIZE + Math.min(e.batches.length, NUM_BATCHES_TO_RETAIN) * BATCH_SIZE;
  const buf = Buffer.alloc(size);
  buf.writeInt16BE(VERSION, 0);
  buf.writeInt32BE(list.length, 6);
  let pos = HEADER_SIZE;
  for (const e of list) {
    const batches = e.batches.slice(-NUM_BATCHES_TO_RETAIN);
    writeInt64(buf, pos, e.producerId);
    buf.writeInt16BE(e.producerEpoch, pos + 8);
    writeInt64(buf, pos + 10, e.lastTimestamp);
    buf.writeInt8(batches.length, pos + 18);
    pos += PRODUCER_SIZE;
    for (const b of batches) {
      buf.writeInt32BE(b.firstSeq, pos);
      buf.writeInt32BE(b.lastSeq, pos + 4);
      writeInt64(buf, pos + 8, b.firstOffset);
      buf.writeInt32BE(b.lastOffset - b.firstOffset, pos + 16);
      writeInt64(buf, pos + 20, b.timestamp);
      pos += BATCH_SIZE;
    }
  }
  buf.writeUInt32BE(crc32c(buf, 6, buf.length), 2);
  return buf;
}

export function decodeSnapshot(buf: Buffer, file = 'snapshot'): ProducerStateEntry[] {
  if (buf.length < HEADER_SIZE) throw new CorruptSnapshotError(file, `${buf.length} bytes, shorter than its header`);
  const version = buf.readInt16BE(0);
  if (version !== VERSION) throw new CorruptSnapshotError(file, `unsupported version ${version}`);
  if (crc32c(buf, 6, buf.length) !== buf.readUInt32BE(2)) throw new CorruptSnapshotError(file, 'CRC mismatch');
  const count = buf.readInt32BE(6);
  const entries: ProducerStateEntry[] = [];
  let pos = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (pos + PRODUCER_SIZE > buf.length) throw new CorruptSnapshotError(file, 'truncated producer entry');
    const producerId = readInt64(buf, pos);
    const producerEpoch = buf.readInt16BE(pos + 8);
    const lastTimestamp = readInt64(buf, pos + 10);
    const batchCount = buf.readInt8(pos + 18);
    pos += PRODUCER_SIZE;
    if (batchCount < 0 || batchCount > NUM_BATCHES_TO_RETAIN || pos + batchCount * BATCH_SIZE > buf.length) {
      throw new CorruptSnapshotError(file, `bad batch count ${batchCount}`);
    }
    const batches = [];
    for (let j = 0; j < batchCount; j++) {
      const firstOffset = readInt64(buf, pos + 8);
      batches.push({
        firstSeq: buf.readInt32BE(pos),
        lastSeq: buf.readInt32BE(pos + 4),
        firstOffset,
        lastOffset: firstOffset + buf.readInt32BE(pos + 16),
        timestamp: readInt64(buf, pos + 20),
      });
      pos += BATCH_SIZE;
    }
    entries.push({ producerId, producerEpoch, lastTimestamp, batches });
  }
  if (pos !== buf.length) throw new CorruptSnapshotError(file, `${buf.length - pos} bytes after the last entry`);
  return entries;
}

/** Writes the snapshot for `offset` atomically (see the file comment). */
export function writeSnapshot(dir: string, offset: number, bytes: Buffer): Promise<void> {
  return writeFileDurably(snapshotFile(dir, offset), bytes);
}

export async function readSnapshot(dir: string, offset: number): Promise<ProducerStateEntry[]> {
  const file = snapshotFile(dir, offset);
  return decodeSnapshot(await fsp.readFile(file), file);
}

/** Offsets of the snapshots in `dir`, ascending. */
export async function listSnapshotOffsets(dir: string): Promise<number[]> {
  const offsets: number[] = [];
  for (const name of await fsp.readdir(dir)) {
    if (!name.endsWith(PRODUCER_SNAPSHOT_FILE_SUFFIX)) continue;
    const offset = offsetFromFileName(name);
    if (offset !== undefined) offsets.push(offset);
  }
  return offsets.sort((a, b) => a - b);
}

export async function deleteSnapshot(dir: string, offset: number): Promise<void> {
  await fsp.rm(snapshotFile(dir, offset), { force: true });
}
