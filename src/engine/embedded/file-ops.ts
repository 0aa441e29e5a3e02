import * as fs from 'node:fs';

/**
 * The file operations on the engine's data path: positional writes, fdatasync and positional
 * reads. They go through this small seam so that tests can count fsyncs (group commit), count
 * bytes read at start-up (no scan after a clean shutdown) and make a disk fail (offline partition).
 * Everything else (open, rename, unlink) uses node:fs directly.
 */
export interface FileOps {
  /** Writes all of `buffers` at `position`; resolves with the bytes written. */
  writev(fd: number, buffers: Buffer[], position: number): Promise<number>;
  /** The same on the calling thread, for small writes (see LogWriter): returns the bytes written. */
  writevSync(fd: number, buffers: Buffer[], position: number): number;
  fdatasync(fd: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `buffer` from 0; resolves with the bytes read. */
  read(fd: number, buffer: Buffer, length: number, position: number): Promise<number>;
}

/** The real thing. Callback-based fs underneath: one promise per call, no FileHandle objects. */
export const nodeFileOps: FileOps = {
  writev(fd, buffers, position) {
    return new Promise((resolve, reject) => {
      fs.writev(fd, buffers, position, (err, written) => (err ? reject(err) : resolve(written)));
    });
  },
  writevSync(fd, buffers, position) {
    return fs.writevSync(fd, buffers, position);
  },
  fdatasync(fd) {
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  },
  read(fd, buffer, length, position) {
    return new Promise((resolve, reject) => {
      fs.read(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
    });
  },
};

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readFully(ops: FileOps, fd: number, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = await ops.read(fd, done === 0 ? buffer : buffer.subarray(done), length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

