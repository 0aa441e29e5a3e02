import { constants as fsConstants, promises as fsp } from 'node:fs';
import { FileOps } from './file-ops';

/** A read raced with retention: the partition retries from the new log start offset. */
export class SegmentDeletedError extends Error {
  constructor(file: string) {
    super(`${file} was deleted`);
    this.name = 'SegmentDeletedError';
  }
}

/**
 * Kafka's FileRecords: a segment's .log file and its descriptor. Opened on first use, so a log with
 * many old segments holds descriptors only for those actually read. Every use is counted: deleting
 * unlinks the file at once (an open descriptor stays valid on POSIX) but closes the descriptor only
 * when the last use ends, so a read in flight never sees its descriptor closed (or reused).
 */
export class FileRecords {
  private fd: number | undefined;
  private handle: fsp.FileHandle | undefined;
  private opening: Promise<number> | undefined;
  private users = 0;
  private deleted = false;
  /** Bytes were written since the last fdatasync. */
  dirty = false;

  constructor(
    readonly file: string,
    private readonly ops: FileOps,
  ) {}

  /** The open file descriptor; the file is created if missing. */
  async open(): Promise<number> {
    if (this.fd !== undefined) return this.fd;
    // O_CREAT must not resurrect a deleted file under its old name.
    if (this.deleted) throw new SegmentDeletedError(this.file);
    this.opening ??= fsp.open(this.file, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644).then((handle) => {
      // The raw fd serves the hot path, which uses the callback API (see file-ops.ts).
      this.handle = handle;
      this.fd = handle.fd;
      return handle.fd;
    });
    return this.opening;
  }

  async use<T>(work: (fd: number) => Promise<T>): Promise<T> {
    this.users++;
    try {
      return await work(await this.open());
    } finally {
      this.users--;
      if (this.users === 0 && this.deleted) void this.close().catch(() => undefined);
    }
  }

  async truncate(size: number): Promise<void> {
    await this.use(() => this.handle!.truncate(size));
    this.dirty = true;
  }

  /** fdatasync if written since the last one. */
  async sync(): Promise<void> {
    if (!this.dirty || this.fd === undefined) return;
    this.dirty = false;
    await this.ops.fdatasync(this.fd);
  }

  async close(): Promise<void> {
    if (this.opening !== undefined) await this.opening.catch(() => undefined);
    const handle = this.handle;
    this.handle = undefined;
    this.fd = undefined;
    this.opening = undefined;
    if (handle !== undefined) await handle.close();
  }

  async delete(): Promise<void> {
    this.deleted = true;
    await fsp.rm(this.file, { force: true });
    if (this.users === 0) await this.close();
  }
}
