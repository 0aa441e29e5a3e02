import { Acks } from '../storage-engine';
import { FileOps } from './file-ops';
import { GroupCommit, SyncWaiter } from './group-commit';
import { LogSegment } from './log-segment';

/** One append between offset assignment and its write. */
export interface PendingWrite extends SyncWaiter {
  segment: LogSegment;
  buffer: Buffer;
  /** File position `segment.append` reserved for it. */
  position: number;
  lastOffset: number;
  acks: Acks;
}

export interface LogWriterEvents {
  /**
   * The high watermark moved (a drain's writes completed). Runs before the drain's appends are
   * answered, so that a listener can hand their records on (an event stream's write) first.
   */
  written(): void;
  /** A write or sync failed: the partition goes offline; returns the error its callers get. */
  failed(cause: unknown): Error;
}

/**
 * A drain of at most this many bytes per segment is written on the event loop's thread: a write
 * to the page cache of this size takes microseconds, less than handing it to the thread pool and
 * waiting for the pool to answer (which also wakes an idle worker thread). Larger drains go to
 * the pool, so the event loop never stalls on a big write.
 */
const SYNC_WRITE_MAX_BYTES = 64 << 10;

/** At most this much goes into one writev, so one drain's latency stays bounded. */
const MAX_DRAIN_BYTES = 16 << 20;
const MAX_DRAIN_WRITES = 8192;

/**
 * The write side of a partition log: queued batches, their writes and their fsyncs.
 *
 * Appends queue up while a write is in flight; each drain writes everything queued with one
 * positional writev per segment (one, or two across a roll), then moves the high watermark and
 * resolves acks=0/1. acks=-1 appends go on to the group commit, whose sync fdatasyncs every segment
 * written since the last sync and then moves the recovery point.
 *
 * Invariants: the queue is in offset order and drains never overlap, so the file is written in
 * order and the high watermark only grows; every offset below the recovery point is fsynced, and it
 * stays below any rolled segment whose indexes are not yet synced (recovery trusts those indexes).
 */
export class LogWriter {
  highWatermark: number;
  recoveryPoint: number;
  private queue: PendingWrite[] = [];
  private writing = false;
  private drainScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;
  private readonly dirtySegments = new Set<LogSegment>();
  /** Rolled segments whose indexes are not yet synced, oldest first. */
  private readonly unflushedInactive: LogSegment[] = [];
  private readonly groupCommit: GroupCommit;
  private readonly drainNow = (): void => void this.drain();

  constructor(
    private readonly ops: FileOps,
    highWatermark: number,
    recoveryPoint: number,
    private readonly events: LogWriterEvents,
  ) {
    this.highWatermark = highWatermark;
    this.recoveryPoint = Math.min(recoveryPoint, highWatermark);
    this.groupCommit = new GroupCommit(() => this.syncToDisk(), (err) => this.fail(err));
  }

  enqueue(write: PendingWrite): void {
    this.queue.push(write);
    if (!this.writing && !this.drainScheduled) {
      this.drainScheduled = true;
      // setImmediate, not nextTick: it runs after every request read in this turn of the event loop
      // has appended, so they share one writev.
      setImmediate(this.drainNow);
    }
  }

  /** The old active segment: flushed with its indexes once its last bytes are written. */
  segmentRolled(old: LogSegment): void {
    this.unflushedInactive.push(old);
  }

  /** True when the segment's bytes and indexes are synced: retention may delete it. */
  isFlushed(segment: LogSegment): boolean {
    return !segment.dirty && !this.unflushedInactive.includes(segment);
  }

  private async drain(): Promise<void> {
    this.drainScheduled = false;
    if (this.writing) return;
    this.writing = true;
    while (this.queue.length > 0 && this.failure === undefined) {
      const group = this.takeDrainGroup();
      try {
        await this.writeGroup(group);
      } catch (err) {
        const error = this.fail(err);
        for (const w of group) w.fail(error);
        break;
      }
      this.highWatermark = group[group.length - 1].lastOffset + 1;
      this.events.written();
      let syncNeeded = false;
      for (const w of group) {
        if (w.acks === -1) {
          this.groupCommit.add(w);
          syncNeeded = true;
        } else {
          w.done();
        }
      }
      const rolled = this.unflushedInactive[0];
      if (!syncNeeded && rolled !== undefined && rolled.writtenSize === rolled.size) this.groupCommit.request();
    }
    this.writing = false;
    if (this.failure !== undefined) this.failQueued(this.failure);
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of idle) resolve();
  }

  private takeDrainGroup(): PendingWrite[] {
    const queue = this.queue;
    let n = 0;
    let bytes = 0;
    while (n < queue.length && n < MAX_DRAIN_WRITES && (n === 0 || bytes + queue[n].buffer.length <= MAX_DRAIN_BYTES)) {
      bytes += queue[n].buffer.length;
      n++;
    }
    if (n === queue.length) {
      this.queue = [];
      return queue;
    }
    return queue.splice(0, n);
  }

  private async writeGroup(group: PendingWrite[]): Promise<void> {
    let i = 0;
    while (i < group.length) {
      const segment = group[i].segment;
      const buffers: Buffer[] = [];
      let bytes = 0;
      let j = i;
      for (; j < group.length && group[j].segment === segment; j++) {
        buffers.push(group[j].buffer);
        bytes += group[j].buffer.length;
      }
      const fd = await segment.open();
      const position = group[i].position;
      const written = bytes <= SYNC_WRITE_MAX_BYTES ? this.ops.writevSync(fd, buffers, position) : await this.ops.writev(fd, buffers, position);
      if (written !== bytes) throw new Error(`short write: ${written} of ${bytes} bytes`);
      segment.markWritten(bytes);
      this.dirtySegments.add(segment);
      i = j;
    }
  }

  /** The group commit's sync: fdatasync what was written, then move the recovery point. */
  private async syncToDisk(): Promise<void> {
    const target = this.highWatermark;
    const dirty = [...this.dirtySegments];
    this.dirtySegments.clear();
    await Promise.all(dirty.map((s) => s.syncLog()));
    while (this.unflushedInactive.length > 0) {
      const rolled = this.unflushedInactive[0];
      if (rolled.writtenSize !== rolled.size || rolled.dirty) break;
      await rolled.flush();
      this.unflushedInactive.shift();
    }
    const pending = this.unflushedInactive[0];
    const point = pending === undefined ? target : Math.min(target, pending.baseOffset);
    if (point > this.recoveryPoint) this.recoveryPoint = point;
  }

  private fail(cause: unknown): Error {
    if (this.failure === undefined) {
      this.failure = this.events.failed(cause);
      this.failQueued(this.failure);
      this.groupCommit.failAll(this.failure);
    }
    return this.failure;
  }

  private failQueued(err: Error): void {
    if (this.writing) return;
    const queue = this.queue;
    this.queue = [];
    for (const w of queue) w.fail(err);
  }

  /** Resolves once every queued append is written (or failed). */
  whenWritten(): Promise<void> {
    if (!this.writing && !this.drainScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when no sync is running or requested. */
  whenSynced(): Promise<void> {
    return this.groupCommit.whenIdle();
  }

  /** Writes what is queued and syncs it: afterwards the recovery point is the high watermark. */
  async flush(): Promise<void> {
    await this.whenWritten();
    if (this.failure !== undefined) throw this.failure;
    this.groupCommit.request();
    await this.groupCommit.whenIdle();
    if (this.failure !== undefined) throw this.failure;
  }
}
