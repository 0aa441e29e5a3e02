import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The client side of bench/consume.ts, run as a worker thread: GET records over keep-alive HTTP
 * until `expected` records came. It reports when ready and starts on 'go', so the timing leaves
 * thread start-up out.
 */
export interface ClientJob {
  url: string;
  accept: string;
  expected: number;
  /** JSON.parse every answer, as an application would; else count records by a byte search (server throughput). */
  parse: boolean;
}

export interface ClientResult {
  records: number;
  bodyBytes: number;
  requests: number;
  /** Share of the run this client's event loop was busy (receiving, parsing HTTP, counting). */
  busy: number;
  /** CPU time of this client's thread in ns (NaN where /proc has no per-thread count). */
  cpuNs: number;
}

/** CPU time of the calling thread in ns, from the scheduler's count (Linux). */
export function threadCpuNs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    return NaN;
  }
}

const OFFSET_FIELD = Buffer.from('"offset":');

/** Occurrences of the `"offset":` field in bytes (the benchmark's values hold none). */
function countFields(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(OFFSET_FIELD); at >= 0; at = bytes.indexOf(OFFSET_FIELD, at + OFFSET_FIELD.length)) n++;
  return n;
}

/**
 * The counting client's connection: keep-alive GETs over one socket, each answer's records counted
 * by their `"offset":` fields as its bytes arrive. Reads land in one reused 1 MiB buffer (net's
 * `onread`), so one read takes whatever the kernel holds rather than 64 KiB at a time, and no HTTP
 * objects are made per answer. It understands what the server sends: a status line, headers with
 * Content-Length, the body. A field cut between two reads is found in the bytes around the cut
 * (the last and first 8 bytes, too short to hold a whole field on either side).
 */
class CountingConnection {
  private readonly socket: Socket;
  private head = '';
  /** Body bytes still to come; -1 while the head is read. */
  private remaining = -1;
  private records = 0;
  private bytes = 0;
  private tail: Buffer = EMPTY;
  private waiting: { resolve: (r: { records: number; bytes: number }) => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly url: URL,
    private readonly accept: string,
  ) {
    this.socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: { buffer: Buffer.allocUnsafe(1 << 20), callback: (n: number, buffer: Uint8Array) => this.read(buffer as Buffer, n) },
    });
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  get(): Promise<{ records: number; bytes: number }> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.head = '';
      this.remaining = -1;
      this.records = 0;
      this.bytes = 0;
      this.tail = EMPTY;
      this.socket.write(`GET ${this.url.pathname}${this.url.search} HTTP/1.1\r\nHost: ${this.url.host}\r\nAccept: ${this.accept}\r\n\r\n`);
    });
  }

  close(): void {
    this.waiting = undefined;
    this.socket.destroy();
  }

  private read(buffer: Buffer, n: number): boolean {
    let at = 0;
    while (at < n && this.waiting !== undefined) {
      if (this.remaining < 0) {
        const before = this.head.length;
        this.head += buffer.toString('latin1', at, Math.min(n, at + 4096));
        const end = this.head.indexOf('\r\n\r\n');
        if (end < 0) {
          at = Math.min(n, at + 4096);
          continue;
        }
        at += end + 4 - before;
        const length = /\r\ncontent-length: *(\d+)/i.exec(this.head.slice(0, end));
        if (!this.head.startsWith('HTTP/1.1 200') || length === null) {
          this.fail(new Error(`unexpected answer: ${this.head.slice(0, end)}`));
          return false;
        }
        this.remaining = Number(length[1]);
      }
      const take = Math.min(this.remaining, n - at);
      this.count(buffer.subarray(at, at + take));
      at += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.resolve({ records: this.records, bytes: this.bytes });
      }
    }
    return true;
  }

  private count(chunk: Buffer): void {
    const edge = OFFSET_FIELD.length - 1;
    this.records += countFields(chunk);
    if (this.tail.length > 0) this.records += countFields(Buffer.concat([this.tail, chunk.subarray(0, edge)]));
    // A copy: the read buffer is written again by the next read.
    const joined = chunk.length >= edge ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - edge)));
    this.bytes += chunk.length;
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}

const EMPTY = Buffer.alloc(0);

export function httpGet(url: string, accept: string, agent: Agent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${res.statusCode} ${Buffer.concat(chunks).toString()}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function run(job: ClientJob): Promise<ClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const counting = new CountingConnection(new URL(job.url), job.accept);
  const loop = performance.eventLoopUtilization();
  const cpu = threadCpuNs();
  let records = 0;
  let bodyBytes = 0;
  let requests = 0;
  while (records < job.expected) {
    let count: number;
    requests++;
    if (job.parse || requests === 1) {
      const body = await httpGet(job.url, job.accept, agent);
      bodyBytes += body.length;
      count = (JSON.parse(body.toString('utf8')) as unknown[]).length;
    } else {
      const counted = await counting.get();
      bodyBytes += counted.bytes;
      count = counted.records;
    }
    if (count === 0) throw new Error(`empty read after ${records} records`);
    records += count;
  }
  agent.destroy();
  counting.close();
  return { records, bodyBytes, requests, busy: performance.eventLoopUtilization(loop).utilization, cpuNs: threadCpuNs() - cpu };
}

if (parentPort !== null) {
  const port = parentPort;
  port.once('message', () => void run(workerData as ClientJob).then((r) => port.postMessage(r)));
  port.postMessage('ready');
}
