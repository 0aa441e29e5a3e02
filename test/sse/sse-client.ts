import { request, type IncomingMessage } from 'node:http';

export interface SseMessage {
  event: string;
  data: string;
  /** The last event id after this event, as an EventSource keeps it. */
  id: string;
  retry?: number;
}

/**
 * Incremental text/event-stream parser, as the HTML spec's EventSource does it: fields per line,
 * an event dispatched at each blank line, comments counted. Lines end at LF (CR LF tolerated).
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private retry: number | undefined;
  lastEventId = '';
  comments = 0;
  /** The last `retry:` hint seen. */
  retryMs: number | undefined;

  constructor(private readonly onMessage: (m: SseMessage) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      let line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        this.onMessage({ event: this.event || 'message', data: this.data.join('\n'), id: this.lastEventId, retry: this.retry });
      }
      this.event = '';
      this.data = [];
      this.retry = undefined;
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = this.retryMs = Number(value);
  }
}

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  /** The body when the answer is not a stream (an error as JSON). */
  body: Promise<string>;
  messages: SseMessage[];
  parser: SseParser;
  /** Resolves with the first message (from index `from` on) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (m: SseMessage) => boolean, timeoutMs?: number, from?: number): Promise<SseMessage>;
  /** Resolves once `count` messages arrived in total. */
  waitForCount(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  close(): void;
  /** Stops reading from the socket (a slow client); resume() reads again. */
  pause(): void;
  resume(): void;
  response: IncomingMessage;
}

/** Opens an event stream over real HTTP; resolves once the status and headers are in. */
export function connectSse(base: string, path: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers: { accept: 'text/event-stream', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      const messages: SseMessage[] = [];
      const waiters = new Set<() => void>();
      const parser = new SseParser((m) => {
        messages.push(m);
        for (const w of [...waiters]) w();
      });
      let body = '';
      let isEnded = false;
      const ended = new Promise<void>((done) => {
        res.on('end', () => {
          isEnded = true;
          for (const w of [...waiters]) w();
          done();
        });
        res.on('close', () => {
          isEnded = true;
          for (const w of [...waiters]) w();
          done();
        });
      });
      const stream = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.on('data', (chunk: string) => (stream ? parser.push(chunk) : (body += chunk)));
      const waitFor = (match: (m: SseMessage) => boolean, timeoutMs = 5000, from = 0): Promise<SseMessage> =>
        new Promise((ok, fail) => {
          const check = (): void => {
            const found = messages.slice(from).find(match);
            if (found !== undefined) {
              cleanup();
              ok(found);
            } else if (isEnded) {
              cleanup();
              fail(new Error(`stream ended after ${messages.length} messages without a match`));
            }
          };
          const timer = setTimeout(() => {
            cleanup();
            fail(new Error(`no matching event within ${timeoutMs} ms (${messages.length} messages)`));
          }, timeoutMs);
          const cleanup = (): void => {
            clearTimeout(timer);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: ended.then(() => body),
        messages,
        parser,
        waitFor,
        waitForCount: async (count, timeoutMs = 5000) => {
          await waitFor(() => messages.length >= count, timeoutMs);
          return messages.slice(0, count);
        },
        ended,
        close: () => {
          req.destroy();
          res.destroy();
        },
        pause: () => res.pause(),
        resume: () => res.resume(),
        response: res,
      });
    });
    req.end();
  });
}
