import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { RecordBatchHeader } from './codec/record-batch';
import { TRANSACTIONAL_FLAG_FILE } from './log-file-names';
import { syncDirectory } from './offset-checkpoint-file';

/** Kafka's AbortedTxn (one .txnindex entry): the offsets a read_committed reader skips for a producer. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of the abort marker. */
  lastOffset: number;
  /** The partition's last stable offset when the marker was appended. */
  lastStableOffset: number;
}

/** A transaction open on the partition: from its producer's first transactional batch after its last marker. */
export interface OpenTxn {
  producerId: number;
  producerEpoch: number;
  firstOffset: number;
}

/**
 * The transactions of one partition: which producers have a transaction open here (and its first
 * offset), and the aborted transactions a read_committed reader must skip.
 *
 * Invariants: an open transaction starts at its producer's first transactional batch after the
 * producer's last marker and ends at the next marker; the last stable offset is the smallest first
 * offset of the open transactions, or the high watermark when none is open; aborted entries of a
 * producer are kept in marker order, so their ranges never overlap.
 *
 * The log is the truth. A partition that has ever had a transactional batch (the `transactional`
 * flag file, created before the first one is appended) saves this state at a clean close (Kafka's
 * .txnindex files and a checkpoint of the open transactions, see transaction-index.ts); at start
 * it is loaded from them when they describe the log end, and rebuilt by replaying the batch
 * headers from the log start offset otherwise (after a crash).
 */
export class PartitionTransactions {
  private readonly ongoing = new Map<number, OpenTxn>();
  private readonly aborted = new Map<number, AbortedTxn[]>();
  private flagged: boolean;
  private flagging: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    flagged: boolean,
  ) {
    this.flagged = flagged;
  }

  static async flagExists(dir: string): Promise<boolean> {
    try {
      await fsp.access(path.join(dir, TRANSACTIONAL_FLAG_FILE));
      return true;
    } catch {
      return false;
    }
  }

  /** Makes the partition's flag durable once, before its first transactional batch is appended. */
  ensureFlagged(): Promise<void> | undefined {
    if (this.flagged) return undefined;
    this.flagging ??= (async () => {
      const file = path.join(this.dir, TRANSACTIONAL_FLAG_FILE);
      const handle = await fsp.open(file, 'w');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await syncDirectory(this.dir);
      this.flagged = true;
    })().finally(() => (this.flagging = undefined));
    return this.flagging;
  }

  get isFlagged(): boolean {
    return this.flagged;
  }

  openTransactions(): OpenTxn[] {
    return [...this.ongoing.values()].map((t) => ({ ...t }));
  }

  abortedTransactions(): AbortedTxn[] {
    return [...this.aborted.values()].flat().sort((a, b) => a.lastOffset - b.lastOffset);
  }

  /** Replaces the state with a saved one (transaction-index.ts). */
  restore(open: readonly OpenTxn[], aborted: readonly AbortedTxn[]): void {
    this.ongoing.clear();
    this.aborted.clear();
    for (const o of open) this.ongoing.set(o.producerId, { ...o });
    for (const a of aborted) {
      let list = this.aborted.get(a.producerId);
      if (list === undefined) this.aborted.set(a.producerId, (list = []));
      list.push({ ...a });
    }
  }

  get openCount(): number {
    return this.ongoing.size;
  }

  isOpen(producerId: number): boolean {
    return this.ongoing.has(producerId);
  }

  /** The first offset of the oldest open transaction, or undefined when none is open. */
  firstUnstableOffset(): number | undefined {
    let first: number | undefined;
    for (const t of this.ongoing.values()) if (first === undefined || t.firstOffset < first) first = t.firstOffset;
    return first;
  }

  lastStableOffset(highWatermark: number): number {
    const first = this.firstUnstableOffset();
    return first === undefined ? highWatermark : Math.min(first, highWatermark);
  }

  onTransactionalBatch(producerId: number, producerEpoch: number, baseOffset: number): void {
    const open = this.ongoing.get(producerId);
    if (open === undefined) this.ongoing.set(producerId, { producerId, producerEpoch, firstOffset: baseOffset });
    else if (producerEpoch > open.producerEpoch) open.producerEpoch = producerEpoch;
  }

  /** A marker at `markerOffset` ends the producer's open transaction here, if it has one. */
  onMarker(producerId: number, commit: boolean, markerOffset: number): void {
    const open = this.ongoing.get(producerId);
    if (open === undefined) return;
    this.ongoing.delete(producerId);
    if (commit) return;
    let list = this.aborted.get(producerId);
    if (list === undefined) this.aborted.set(producerId, (list = []));
    // Kafka's rule: the first offset of the oldest transaction still open, else just past the marker.
    list.push({ producerId, firstOffset: open.firstOffset, lastOffset: markerOffset, lastStableOffset: this.firstUnstableOffset() ?? markerOffset + 1 });
  }

  /** True when the producer's batch at `offset` belongs to an aborted transaction. */
  isAborted(producerId: number, offset: number): boolean {
    const list = this.aborted.get(producerId);
    if (list === undefined) return false;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as AbortedTxn).lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    const entry = list[lo];
    return entry !== undefined && entry.firstOffset <= offset;
  }

  /** Aborted transactions overlapping [from, to), as Kafka's fetch response lists them. */
  abortedBetween(from: number, to: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (const list of this.aborted.values()) for (const a of list) if (a.lastOffset >= from && a.firstOffset < to) out.push(a);
    return out.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Retention moved the log start: entries wholly below it can never be read again. */
  dropBefore(logStartOffset: number): void {
    for (const [pid, list] of this.aborted) {
      const kept = list.filter((a) => a.lastOffset >= logStartOffset);
      if (kept.length === 0) this.aborted.delete(pid);
      else this.aborted.set(pid, kept);
    }
  }

  /** Replays one batch found in the log (start-up rebuild); `control` is the marker's type for a control batch. */
  replay(header: RecordBatchHeader, control: 'commit' | 'abort' | undefined): void {
    if (!header.isTransactional || header.producerId < 0) return;
    if (header.isControl) {
      if (control !== undefined) this.onMarker(header.producerId, control === 'commit', header.baseOffset);
      return;
    }
    this.onTransactionalBatch(header.producerId, header.producerEpoch, header.baseOffset);
  }
}
