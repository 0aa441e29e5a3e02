import { close, closeSync, fdatasync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '../../engine/embedded/codec/crc32c';
import { GroupCommit } from '../../engine/embedded/group-commit';

export interface IdempotencyJournalOptions {
  /** Records older than this may go: a segment is deleted once its successor is older than it. */
  ttlMs: number;
  /** A new segment starts past this size... */
  segmentBytes: number;
  /** ...or this age. */
  segmentMs: number;
  /** Oldest segments go when the journal is larger (keys then end before their window). */
  maxBytes: number;
  now: () => number;
}

const FRAME_HEADER = 8;
const SUFFIX = '.journal';

/**
 * The Idempotency-Key journal: append-only segment files `<20-digit creation time>.journal` in
 * its own directory, each a sequence of frames `uint32 length | uint32 CRC-32C of the payload |
 * payload`. Records are written with one synchronous write(2): once it returns they survive the
 * death of the process (they are in the kernel's page cache), with no round trip through the thread
 * pool, which is what keeps keyed requests cheap. `sync` makes
 * everything written so far survive a power loss too (group commit: one fdatasync for all waiters).
 *
 * `open` reads every segment in order and cuts the last one at its first frame that is torn or
 * fails its CRC (what a crash mid-write leaves). Segments are deleted whole, by age and size.
 */
export class IdempotencyJournal {
  private fd = -1;
  private activeName = '';
  private activeCreated = 0;
  private activeSize = 0;
  private segments: Array<{ name: string; created: number; size: number }> = [];
  /** Descriptors written since their last fdatasync; a rolled one is closed once synced. */
  private readonly dirty = new Set<number>();
  private readonly retired = new Set<number>();
  private readonly groupCommit: GroupCommit;
  private failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: IdempotencyJournalOptions,
  ) {
    this.groupCommit = new GroupCommit(
      () => this.fdatasync(),
      (err) => (this.failure = err as Error),
    );
  }

  /** Reads back every record, oldest first, and opens the journal for appends. */
  open(): Buffer[] {
    mkdirSync(this.dir, { recursive: true });
    const names = readdirSync(this.dir).filter((n) => n.endsWith(SUFFIX)).sort();
    const payloads: Buffer[] = [];
    for (let i = 0; i < names.length; i++) {
      const file = path.join(this.dir, names[i]);
      const bytes = readFileSync(file);
      const valid = readFrames(bytes, payloads);
      if (valid < bytes.length) truncateSync(file, valid);
      this.segments.push({ name: names[i], created: Number(names[i].slice(0, 20)), size: valid });
    }
    this.deleteOld();
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.size < this.options.segmentBytes && this.options.now() - last.created < this.options.segmentMs) {
      this.openSegment(last.name, last.created, last.size);
    } else {
      this.roll();
    }
    return payloads;
  }

  /** Writes the records with one write(2); on return they survive a process crash. */
  append(payloads: Buffer[]): void {
    this.appendWith(
      payloads.map((p) => p.length),
      (out, pos, i) => payloads[i].copy(out, pos),
    );
  }

  /**
   * As `append`, for records written straight into the frame rather than built apart and copied:
   * record i takes sizes[i] bytes, and `write(out, pos, i)` puts exactly them at out[pos].
   */
  appendWith(sizes: number[], write: (out: Buffer, pos: number, i: number) => void): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.fd < 0) throw new Error('the idempotency journal is not open');
    if (this.activeSize >= this.options.segmentBytes || this.options.now() - this.activeCreated >= this.options.segmentMs) this.roll();
    let size = 0;
    for (let i = 0; i < sizes.length; i++) size += FRAME_HEADER + sizes[i];
    const frame = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let i = 0; i < sizes.length; i++) {
      const start = pos + FRAME_HEADER;
      const end = start + sizes[i];
      write(frame, start, i);
      frame.writeUInt32BE(sizes[i], pos);
      frame.writeUInt32BE(crc32c(frame, start, end), pos + 4);
      pos = end;
    }
    let done = 0;
    while (done < frame.length) done += writeSync(this.fd, frame, done, frame.length - done, this.activeSize + done);
    this.activeSize += frame.length;
    this.segments[this.segments.length - 1].size = this.activeSize;
    this.dirty.add(this.fd);
  }

  /** Resolves once everything appended before the call is fsynced. */
  sync(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.groupCommit.add({ done: resolve, fail: reject }));
  }

  /** The group commit's sync: every descriptor written since its last sync (a rolled segment included). */
  private async fdatasync(): Promise<void> {
    const fds = [...this.dirty];
    this.dirty.clear();
    await Promise.all(fds.map((fd) => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))));
    // A rolled segment's descriptor closes after a sync that found it clean: a sync already
    // running when it rolled may not cover its last writes.
    for (const fd of fds) {
      if (this.retired.has(fd) && !this.dirty.has(fd)) {
        this.retired.delete(fd);
        close(fd, () => undefined);
      }
    }
  }

  private roll(): void {
    const now = Math.max(this.options.now(), this.activeCreated + 1);
    if (this.fd >= 0) {
      const old = this.fd;
      this.fd = -1;
      this.retired.add(old);
      this.dirty.add(old);
      this.groupCommit.request();
    }
    const name = `${String(now).padStart(20, '0')}${SUFFIX}`;
    this.segments.push({ name, created: now, size: 0 });
    this.openSegment(name, now, 0);
    this.deleteOld();
  }

  private openSegment(name: string, created: number, size: number): void {
    this.fd = openSync(path.join(this.dir, name), size === 0 ? 'w' : 'r+');
    this.activeName = name;
    this.activeCreated = created;
    this.activeSize = size;
  }

  /** Segments whose successor started more than ttlMs ago hold only expired records; size bounds the rest. */
  private deleteOld(): void {
    const now = this.options.now();
    let total = this.segments.reduce((n, s) => n + s.size, 0);
    while (this.segments.length > 1) {
      const [first, second] = this.segments;
      const expired = now - second.created > this.options.ttlMs;
      if (!expired && total <= this.options.maxBytes) break;
      if (first.name === this.activeName) break;
      rmSync(path.join(this.dir, first.name), { force: true });
      total -= first.size;
      this.segments.shift();
    }
  }

  /** Syncs and closes; appends after it throw. */
  async close(): Promise<void> {
    const fd = this.fd;
    if (fd < 0) return;
    await this.sync().catch(() => undefined);
    await this.groupCommit.whenIdle();
    this.fd = -1;
    closeSync(fd);
  }
}

/** Appends the payloads of the whole valid frames at the start of `bytes`; returns where they end. */
function readFrames(bytes: Buffer, out: Buffer[]): number {
  let pos = 0;
  while (pos + FRAME_HEADER <= bytes.length) {
    const length = bytes.readUInt32BE(pos);
    const end = pos + FRAME_HEADER + length;
    if (end > bytes.length) break;
    if (crc32c(bytes, pos + FRAME_HEADER, end) !== bytes.readUInt32BE(pos + 4)) break;
    out.push(bytes.subarray(pos + FRAME_HEADER, end));
    pos = end;
  }
  return pos;
}
