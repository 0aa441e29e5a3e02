import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * One Server-Sent Events frame. `data` must hold no CR or LF: every payload here is JSON.stringify
 * output, which escapes them, so one `data:` line always carries one whole event.
 */
export function sseFrame(event: string, data: string, id?: string): string {
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

export const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform keeps proxies from compressing or buffering the stream; X-Accel-Buffering turns
  // off nginx's response buffering, which would otherwise hold events back.
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

export type WriterChunk = string | Buffer;

/**
 * Writes one text/event-stream response. The body is delimited by the end of the connection (no
 * chunked encoding, `Connection: close`), so after the headers every write goes straight to the
 * socket as one system call: with thousands of streams that is most of the cost of an event, and
 * the response object's per-write chunk framing and corking would double it. A stream never
 * outlives its connection anyway: EventSource opens a new one to resume.
 *
 * It never waits: bytes a write hands over stay in the socket's buffer until the kernel takes them,
 * and `bufferedBytes` says how many that is, so the stream above can end a client that does not
 * keep up instead of growing that buffer without bound. After `end` or a closed connection every
 * write is a no-op.
 */
export class EventStreamWriter {
  private ended: boolean;
  /** The connection is gone (the client left, or the response finished). */
  private closed: boolean;
  /** Set by every write, cleared by the heartbeat tick: a stream that just wrote needs no heartbeat. */
  private active = false;
  private readonly socket: Socket | null;

  constructor(private readonly res: ServerResponse) {
    this.socket = res.socket;
    // The client may have left while the request was being checked, before this writer existed.
    this.closed = res.destroyed || this.socket === null || this.socket.destroyed;
    this.ended = this.closed;
    res.once('close', () => {
      this.closed = true;
      this.ended = true;
    });
  }

  /** Sends the status line and headers with a `retry:` hint, so the client's open event fires at once. */
  open(headers: Record<string, string | number | string[] | undefined>, retryMs: number): void {
    if (this.ended) return;
    this.res.useChunkedEncodingByDefault = false;
    this.res.shouldKeepAlive = false;
    this.res.writeHead(200, { ...(headers as OutgoingHttpHeaders), ...SSE_HEADERS });
    this.res.flushHeaders();
    this.socket?.setNoDelay(true);
    this.write(`retry: ${retryMs}\n\n`);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Bytes written but not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.socket === null ? 0 : this.socket.writableLength;
  }

  write(chunk: WriterChunk): void {
    if (this.ended || this.socket === null) return;
    this.active = true;
    this.socket.write(chunk);
  }

  /** Writes a comment if nothing was written since the last tick; proxies then keep the connection. */
  heartbeatTick(): void {
    if (!this.active) this.write(': heartbeat\n\n');
    this.active = false;
  }

  /** Resolves once the buffer has gone to the kernel, or the connection closed. */
  drained(): Promise<void> {
    const socket = this.socket;
    if (this.ended || socket === null || !socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Ends the response after `last`; the client's EventSource then reconnects after its retry delay. */
  end(last?: string): void {
    if (this.ended) return;
    if (last !== undefined) this.write(last);
    this.ended = true;
    this.res.end();
  }

  /** Cuts the connection without a final event, as a network failure would. */
  destroy(): void {
    this.ended = true;
    this.res.destroy();
  }

  /** Runs `listener` once the connection is gone; at once if it already is. */
  onClose(listener: () => void): void {
    if (this.closed) queueMicrotask(listener);
    else this.res.once('close', listener);
  }
}
