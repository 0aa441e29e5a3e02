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
}

const OFFSET_FIELD = Buffer.from('"offset":');

/** Records in an answer, counted by their `"offset":` fields (the benchmark's values hold none). */
function countRecords(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf(OFFSET_FIELD); at >= 0; at = body.indexOf(OFFSET_FIELD, at + OFFSET_FIELD.length)) n++;
  return n;
}

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
  let records = 0;
  let bodyBytes = 0;
  let requests = 0;
  while (records < job.expected) {
    const body = await httpGet(job.url, job.accept, agent);
    bodyBytes += body.length;
    requests++;
    const count = job.parse || requests === 1 ? (JSON.parse(body.toString('utf8')) as unknown[]).length : countRecords(body);
    if (count === 0) throw new Error(`empty read after ${records} records`);
    records += count;
  }
  agent.destroy();
  return { records, bodyBytes, requests };
}

if (parentPort !== null) {
  const port = parentPort;
  port.once('message', () => void run(workerData as ClientJob).then((r) => port.postMessage(r)));
  port.postMessage('ready');
}
