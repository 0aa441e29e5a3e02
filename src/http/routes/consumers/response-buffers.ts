import type { ServerResponse } from 'node:http';

/** Buffers below this are not worth keeping: small allocations come from Node's own slab. */
const MIN_POOLED_BYTES = 64 * 1024;

/**
 * Output buffers of records responses, used again: a read of a megabyte of records writes a few
 * megabytes of JSON, and a new buffer per response is external memory the collector is pressed to
 * reclaim (full collections every few hundred reads). A buffer goes back only once the response
 * that holds it has been handed to the socket in full ('finish': the socket's writes of its bytes
 * completed), never while a slow reader may still be sent bytes from it; a response that ends
 * otherwise ('close' before 'finish') leaves its buffer to the collector.
 *
 * Invariants: a buffer is in `free` at most once, and never while a response it was taken for is
 * unfinished; at most `maxFree` buffers of at most `maxBytes` each are kept.
 */
export class ResponseBufferPool {
  private readonly free: Buffer[] = [];
  /** Responses being sent from a buffer of the pool's (diagnostics and tests). */
  sending = 0;

  constructor(
    private readonly maxFree = 4,
    private readonly maxBytes = 16 << 20,
  ) {}

  /** A buffer of at least `bytes` (its contents are old bytes): a free one, else a new one. */
  take(bytes: number): Buffer {
    if (bytes >= MIN_POOLED_BYTES) {
      for (let i = this.free.length - 1; i >= 0; i--) {
        const buffer = this.free[i] as Buffer;
        if (buffer.length < bytes) continue;
        this.free.splice(i, 1);
        return buffer;
      }
    }
    return Buffer.allocUnsafe(bytes);
  }

  /** `buffer` is no longer referenced by anything that will read it. */
  give(buffer: Buffer): void {
    if (buffer.length < MIN_POOLED_BYTES || buffer.length > this.maxBytes || this.free.includes(buffer)) return;
    if (this.free.length >= this.maxFree) this.free.shift();
    this.free.push(buffer);
  }

  /** Gives `buffer` back once `response` has been written in full. */
  giveAfter(response: ServerResponse, buffer: Buffer): void {
    if (response.writableFinished) {
      this.give(buffer);
      return;
    }
    this.sending++;
    const finished = (): void => {
      response.off('close', closed);
      this.sending--;
      this.give(buffer);
    };
    const closed = (): void => {
      response.off('finish', finished);
      this.sending--;
    };
    response.once('finish', finished);
    response.once('close', closed);
  }

  get freeCount(): number {
    return this.free.length;
  }
}

/** The records routes' pool. */
export const responseBuffers = new ResponseBufferPool();
