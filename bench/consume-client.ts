import { Agent, request } from 'node:http';
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
}

const OFFSET_FIELD = Buffer.from('"offset":');

/** Occurrences of the `"offset":` field in bytes (the benchmark's values hold none). */
function countFields(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(OFFSET_FIELD); at >= 0; at = bytes.indexOf(OFFSET_FIELD, at + OFFSET_FIELD.length)) n++;
  return n;
}

/**
 * GET an answer and count its records by their `"offset":` fields chunk by chunk as they arrive,
 * with no copy of the whole body: a field cut between two chunks is found in the bytes around the
 * cut (the last and first 8 bytes, too short to hold a whole field on either side).
 */
function countGet(url: string, accept: string, agent: Agent): Promise<{ records: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${res.statusCode}`));
        res.resume();
        return;
      }
      let records = 0;
      let bytes = 0;
      let tail: Buffer = EMPTY;
      const edge = OFFSET_FIELD.length - 1;
      res.on('data', (chunk: Buffer) => {
        records += countFields(chunk);
        if (tail.length > 0) records += countFields(Buffer.concat([tail, chunk.subarray(0, edge)]));
        const joined = chunk.length >= edge ? chunk : Buffer.concat([tail, chunk]);
        tail = joined.subarray(Math.max(0, joined.length - edge));
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ records, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
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
  const loop = performance.eventLoopUtilization();
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
      const counted = await countGet(job.url, job.accept, agent);
      bodyBytes += counted.bytes;
      count = counted.records;
    }
    if (count === 0) throw new Error(`empty read after ${records} records`);
    records += count;
  }
  agent.destroy();
  return { records, bodyBytes, requests, busy: performance.eventLoopUtilization(loop).utilization };
}

if (parentPort !== null) {
  const port = parentPort;
  port.once('message', () => void run(workerData as ClientJob).then((r) => port.postMessage(r)));
  port.postMessage('ready');
}
