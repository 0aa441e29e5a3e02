import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

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

/**
 * Writes one text/event-stream response. It never waits: the bytes a write hands over stay in the
 * response's buffer until the socket takes them, and `bufferedBytes` says how many that is, so the
 * stream above can end a client that does not keep up instead of growing that buffer without bound.
 * After `end` or a closed connection every write is a no-op.
 */
export class EventStreamWriter {
  private ended: boolean;
  /** The connection is gone (the client left, or the response finished). */
  private closed: boolean;
  /** Set by every write, cleared by the heartbeat tick: a stream that just wrote needs no heartbeat. */
  private active = false;

  constructor(private readonly res: ServerResponse) {
    // The client may have left while the request was being checked, before this writer existed.
    this.closed = res.destroyed || res.socket === null || res.socket.destroyed;
    this.ended = this.closed;
    res.once('close', () => {
      this.closed = true;
      this.ended = true;
    });
  }

  /** Sends the status line and headers with a `retry:` hint, so the client's open event fires at once. */
  open(headers: Record<string, string | number | string[] | undefined>, retryMs: number): void {
    this.res.writeHead(200, { ...(headers as OutgoingHttpHeaders), ...SSE_HEADERS });
    this.res.socket?.setNoDelay(true);
    this.write(`retry: ${retryMs}\n\n`);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Bytes written but not yet taken by the socket. */
  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  write(chunk: string): void {
    if (this.ended) return;
    this.active = true;
    this.res.write(chunk);
  }

  /** Writes a comment if nothing was written since the last tick; proxies then keep the connection. */
  heartbeatTick(): void {
    if (!this.active) this.write(': heartbeat\n\n');
    this.active = false;
  }

  /** Resolves once the buffer has gone to the socket, or the connection closed. */
  drained(): Promise<void> {
    if (this.ended || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Ends the response after `last`; the client's EventSource then reconnects after its retry delay. */
  end(last?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (last !== undefined) this.res.end(last);
    else this.res.end();
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
