import { BATCH_HEADER_SIZE, CorruptBatchError, readBatchHeader, RecordBatchHeader } from './codec/record-batch';
import { FileOps, readFully } from './file-ops';

/** One whole batch found in a file: `buf[pos, pos + header.sizeInBytes)` holds it. */
export interface ScannedBatch {
  header: RecordBatchHeader;
  buf: Buffer;
  pos: number;
  filePosition: number;
}

/**
 * Why a scan ended: `end` (reached the end position), `visitor` (the visitor declined the batch at
 * `position`), `torn` (a batch cut short by the end: a torn write), `corrupt` (bytes that are not a
 * batch header).
 */
export type ScanStop = 'end' | 'visitor' | 'torn' | 'corrupt';

export interface ScanResult {
  /** File position after the last accepted batch: where the valid log ends if the scan stopped. */
  position: number;
  stop: ScanStop;
  bytesRead: number;
}

/**
 * Walks the batches of a log file from `start` to `end` by reading chunks of about `chunkSize`
 * bytes (more when one batch is larger), handing each whole batch to `visit`. The visitor returns
 * false to stop before the batch it was given. Reads only: it never changes the file.
 */
export async function scanBatches(
  ops: FileOps,
  fd: number,
  start: number,
  end: number,
  chunkSize: number,
  visit: (batch: ScannedBatch) => boolean,
): Promise<ScanResult> {
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = start;
  let position = start;
  let bytesRead = 0;
  const load = async (need: number): Promise<void> => {
    const length = Math.min(end - position, Math.max(chunkSize, need));
    buf = await readFully(ops, fd, length, position);
    bufStart = position;
    bytesRead += buf.length;
  };
  while (position < end) {
    if (end - position < BATCH_HEADER_SIZE) return { position, stop: 'torn', bytesRead };
    if (position + BATCH_HEADER_SIZE > bufStart + buf.length) await load(BATCH_HEADER_SIZE);
    if (position + BATCH_HEADER_SIZE > bufStart + buf.length) return { position, stop: 'torn', bytesRead };
    let header: RecordBatchHeader;
    try {
      header = readBatchHeader(buf, position - bufStart);
    } catch (err) {
      if (err instanceof CorruptBatchError) return { position, stop: 'corrupt', bytesRead };
      throw err;
    }
    const size = header.sizeInBytes;
    if (size > end - position) return { position, stop: 'torn', bytesRead };
    if (position + size > bufStart + buf.length) await load(size);
    if (position + size > bufStart + buf.length) return { position, stop: 'torn', bytesRead };
    if (!visit({ header, buf, pos: position - bufStart, filePosition: position })) return { position, stop: 'visitor', bytesRead };
    position += size;
  }
  return { position, stop: 'end', bytesRead };
}
