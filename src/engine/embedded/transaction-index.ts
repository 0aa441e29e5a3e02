import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32c } from './codec/crc32c';
import { readInt64, writeInt64 } from './codec/varint';
import { filenamePrefixFromOffset, offsetFromFileName, TXN_INDEX_FILE_SUFFIX } from './log-file-names';
import { writeFileDurably } from './offset-checkpoint-file';
import type { AbortedTxn, OpenTxn } from './transaction-state';

/**
 * Kafka's TransactionIndex: `<20-digit base offset>.txnindex` beside each segment, holding the
 * aborted transactions whose abort marker is in that segment, in marker order. Each entry is 34
 * bytes, big-endian, as Kafka's AbortedTxn:
 *
 *   int16 version (0), int64 producerId, int64 firstOffset, int64 lastOffset (the marker),
 *   int64 lastStableOffset (when the marker was appended)
 *
 * Beside them, `transaction.checkpoint` holds the transactions still open at the offset it names:
 *
 *   int16 version (0), uint32 CRC-32C of the rest, int64 offset, int32 count,
 *   then per open transaction: int64 producerId, int16 producerEpoch, int64 firstOffset
 *
 * Both are written whole at a clean close (the indexes first, the checkpoint last) and trusted at
 * start only when the checkpoint's offset is the log end; otherwise the partition's transactions
 * are rebuilt from the log, and the next clean close writes them again.
 */
const ENTRY_SIZE = 34;
const VERSION = 0;
const CHECKPOINT_FILE = 'transaction.checkpoint';
const CHECKPOINT_HEADER = 2 + 4 + 8 + 4;
const OPEN_SIZE = 8 + 2 + 8;

export function txnIndexFile(dir: string, baseOffset: number): string {
  return path.join(dir, filenamePrefixFromOffset(baseOffset) + TXN_INDEX_FILE_SUFFIX);
}

export function encodeTxnIndex(entries: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.alloc(entries.length * ENTRY_SIZE);
  entries.forEach((e, i) => {
    const pos = i * ENTRY_SIZE;
    buf.writeInt16BE(VERSION, pos);
    writeInt64(buf, pos + 2, e.producerId);
    writeInt64(buf, pos + 10, e.firstOffset);
    writeInt64(buf, pos + 18, e.lastOffset);
    writeInt64(buf, pos + 26, e.lastStableOffset);
  });
  return buf;
}

/** Undefined for bytes that are not whole version-0 entries. */
export function decodeTxnIndex(buf: Buffer): AbortedTxn[] | undefined {
  if (buf.length % ENTRY_SIZE !== 0) return undefined;
  const out: AbortedTxn[] = [];
  for (let pos = 0; pos < buf.length; pos += ENTRY_SIZE) {
    if (buf.readInt16BE(pos) !== VERSION) return undefined;
    out.push({ producerId: readInt64(buf, pos + 2), firstOffset: readInt64(buf, pos + 10), lastOffset: readInt64(buf, pos + 18), lastStableOffset: readInt64(buf, pos + 26) });
  }
  return out;
}

export interface SavedTransactions {
  offset: number;
  open: OpenTxn[];
  aborted: AbortedTxn[];
}

/** Writes every segment's index (removing those of segments with no aborted transaction), then the checkpoint. */
export async function saveTransactions(dir: string, segmentBases: readonly number[], state: SavedTransactions): Promise<void> {
  const bySegment = new Map<number, AbortedTxn[]>();
  for (const a of state.aborted) {
    let base = segmentBases[0] ?? 0;
    for (const b of segmentBases) if (b <= a.lastOffset) base = b;
    let list = bySegment.get(base);
    if (list === undefined) bySegment.set(base, (list = []));
    list.push(a);
  }
  for (const name of await fsp.readdir(dir)) {
    if (!name.endsWith(TXN_INDEX_FILE_SUFFIX)) continue;
    const base = offsetFromFileName(name);
    if (base !== undefined && !bySegment.has(base)) await fsp.rm(path.join(dir, name), { force: true });
  }
  for (const [base, entries] of bySegment) {
    await writeFileDurably(txnIndexFile(dir, base), encodeTxnIndex(entries.sort((x, y) => x.lastOffset - y.lastOffset)));
  }
  const buf = Buffer.alloc(CHECKPOINT_HEADER + state.open.length * OPEN_SIZE);
  buf.writeInt16BE(VERSION, 0);
  writeInt64(buf, 6, state.offset);
  buf.writeInt32BE(state.open.length, 14);
  state.open.forEach((o, i) => {
    const pos = CHECKPOINT_HEADER + i * OPEN_SIZE;
    writeInt64(buf, pos, o.producerId);
    buf.writeInt16BE(o.producerEpoch, pos + 8);
    writeInt64(buf, pos + 10, o.firstOffset);
  });
  buf.writeUInt32BE(crc32c(buf, 6, buf.length), 2);
  await writeFileDurably(path.join(dir, CHECKPOINT_FILE), buf);
}

/**
 * The saved transactions if the checkpoint is readable and names `logEndOffset`; undefined when
 * the partition must be rebuilt from the log. Index entries below `logStartOffset` are dropped.
 */
export async function loadSavedTransactions(dir: string, logStartOffset: number, logEndOffset: number): Promise<SavedTransactions | undefined> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path.join(dir, CHECKPOINT_FILE));
  } catch {
    return undefined;
  }
  if (buf.length < CHECKPOINT_HEADER || buf.readInt16BE(0) !== VERSION || crc32c(buf, 6, buf.length) !== buf.readUInt32BE(2)) return undefined;
  const offset = readInt64(buf, 6);
  const count = buf.readInt32BE(14);
  if (offset !== logEndOffset || buf.length !== CHECKPOINT_HEADER + count * OPEN_SIZE) return undefined;
  const open: OpenTxn[] = [];
  for (let i = 0; i < count; i++) {
    const pos = CHECKPOINT_HEADER + i * OPEN_SIZE;
    open.push({ producerId: readInt64(buf, pos), producerEpoch: buf.readInt16BE(pos + 8), firstOffset: readInt64(buf, pos + 10) });
  }
  const aborted: AbortedTxn[] = [];
  for (const name of await fsp.readdir(dir)) {
    if (!name.endsWith(TXN_INDEX_FILE_SUFFIX)) continue;
    const entries = decodeTxnIndex(await fsp.readFile(path.join(dir, name)));
    if (entries === undefined) return undefined;
    for (const e of entries) if (e.lastOffset >= logStartOffset && e.lastOffset < logEndOffset) aborted.push(e);
  }
  return { offset, open, aborted: aborted.sort((x, y) => x.lastOffset - y.lastOffset) };
}
