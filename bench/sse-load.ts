/**
 * The subscribers' side of bench/sse.ts, run as its own process so that its CPU is not the server's:
 * subscribers (SSE streams, or one long-polling reader as the baseline), and the paced producer in
 * a third process (bench/sse-producer.ts). Every record's value carries its sequence number; the
 * latency of a delivery is the time from the start of the produce request that carried the record
 * to the moment a subscriber read it, both on the machine's monotonic clock. Results go back to the
 * parent over IPC.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { nowMs } from './sse-clock';
import { percentileOfSorted } from './stats';
import { produceAll, type ProduceJob, type ProduceReport } from './sse-producer';

export interface LoadCase {
  base: string;
  topic: string;
  mode: 'sse' | 'longpoll';
  subscribers: number;
  /** Records per second, one record per produce request. */
  rate: number;
  durationMs: number;
  /**
   * Where the producer runs: 'process' (default), a process of its own; 'inline', in this load
   * process beside the subscribers (for one subscriber: two processes in all, server and client, on
   * a 2-core machine, rather than three taking turns on two cores).
   */
  producer?: 'process' | 'inline';
}

export interface LoadResult {
  produced: number;
  expected: number;
  received: number;
  /** From the first produce to the last delivery, ms. */
  elapsedMs: number;
  connectMs: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The produce request's own round trip (acks=1), for comparison: p50 and p99, ms. */
  ackP50: number;
  ackP99: number;
  /**
   * Each delivery's receive time less its producer's answer time: the delivery path on its own,
   * without the produce round trip (negative when the event came before the answer). p50, p99, ms.
   */
  afterAckP50: number;
  afterAckP99: number;
  /** The producer's report: each record's request start and round trip, for the server's probe. */
  sendTimes: number[];
  ackTimes: number[];
}

const SEQ = /"seq":(\d+)/g;

/** Each delivery's record and receive time, in arrival order; latencies are computed at the end. */
let receivedSeqs: Int32Array;
let receivedAt: Float64Array;
let received = 0;
let onReceive: (() => void) | undefined;

function delivered(text: string): void {
  const now = nowMs();
  for (const m of text.matchAll(SEQ)) {
    if (received < receivedAt.length) {
      receivedSeqs[received] = Number(m[1]);
      receivedAt[received] = now;
    }
    received++;
  }
  onReceive?.();
}

/**
 * Opens one event stream on a raw socket and resolves once the status line is in. Event streams
 * are close-delimited, so past the headers the bytes are the events themselves; skipping the HTTP
 * client's parser keeps this process's CPU for reading 10,000 sockets. Only whole events are scanned.
 */
function subscribe(c: LoadCase): Promise<Socket> {
  const url = new URL(`${c.base}/topics/${c.topic}/events`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.setEncoding('latin1');
    let headers = true;
    let carry = '';
    socket.on('data', (chunk: string) => {
      let text = carry + chunk;
      if (headers) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          carry = text;
          return;
        }
        if (!text.startsWith('HTTP/1.1 200')) {
          reject(new Error(`subscribe: ${text.slice(0, text.indexOf('\r\n'))}`));
          socket.destroy();
          return;
        }
        headers = false;
        text = text.slice(end + 4);
        resolve(socket);
      }
      const end = text.lastIndexOf('\n\n');
      if (end < 0) {
        carry = text;
        return;
      }
      carry = text.slice(end + 2);
      delivered(text.slice(0, end));
    });
    socket.on('error', reject);
  });
}

/** The baseline: one reader long-polling the partition, as a client without SSE would. */
async function longPoll(c: LoadCase, stop: () => boolean): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let offset = 0;
  while (!stop()) {
    const body = await new Promise<string>((resolve, reject) => {
      request(`${c.base}/topics/${c.topic}/partitions/0/records?offset=${offset}&timeout=1000`, { agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    const records = JSON.parse(body) as Array<{ offset: number }>;
    if (records.length > 0) {
      delivered(body);
      offset = records[records.length - 1].offset + 1;
    }
  }
  agent.destroy();
}

/** Runs the producer process and resolves with its send and answer times. */
function produceIn(child: ReturnType<typeof fork>, job: ProduceJob): Promise<ProduceReport> {
  return new Promise((resolve, reject) => {
    let report: ProduceReport | undefined;
    child.once('message', (m) => (report = m as ProduceReport));
    child.once('exit', (code) => (report !== undefined ? resolve(report) : reject(new Error(`producer exited with ${code}`))));
    child.send(job);
  });
}

/** How many records (one per produce request, x-seq 0 to this less one) a case produces. */
export function recordsOf(c: Pick<LoadCase, 'rate' | 'durationMs'>): number {
  return Math.round((c.rate * c.durationMs) / 1000);
}

export async function runLoad(c: LoadCase): Promise<LoadResult> {
  const total = recordsOf(c);
  const expected = total * c.subscribers;
  receivedSeqs = new Int32Array(expected);
  receivedAt = new Float64Array(expected);
  received = 0;
  // Started before the subscribers so that its start-up is not inside the measured run.
  const producer = c.producer === 'inline' ? undefined : fork(join(__dirname, 'sse-producer.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const connectStart = nowMs();
  const streams: Socket[] = [];
  let stopPolling = false;
  let poller: Promise<void> | undefined;
  if (c.mode === 'sse') {
    const BATCH = 250;
    for (let i = 0; i < c.subscribers; i += BATCH) {
      streams.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, c.subscribers - i) }, () => subscribe(c)))));
    }
  } else {
    poller = longPoll(c, () => stopPolling);
  }
  const connectMs = nowMs() - connectStart;
  // Streams open at the end of the log; give the last ones a moment to join the shared tail.
  await new Promise((r) => setTimeout(r, 200));
  const start = nowMs();
  const job = { base: c.base, topic: c.topic, rate: c.rate, total };
  const report = await (producer === undefined ? produceAll(job) : produceIn(producer, job));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    onReceive = () => {
      if (received >= expected) {
        clearTimeout(timer);
        resolve();
      }
    };
    onReceive();
  });
  const elapsedMs = nowMs() - start;
  onReceive = undefined;
  stopPolling = true;
  await poller;
  for (const s of streams) s.destroy();
  const n = Math.min(received, expected);
  const sorted = new Float64Array(n);
  const afterAck = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const seq = receivedSeqs[i];
    sorted[i] = receivedAt[i] - report.sendTimes[seq];
    afterAck[i] = receivedAt[i] - (report.sendTimes[seq] + report.ackTimes[seq]);
  }
  sorted.sort();
  afterAck.sort();
  const acks = Float64Array.from(report.ackTimes).sort();
  return {
    produced: total,
    expected,
    received,
    elapsedMs,
    connectMs,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
    ackP50: percentileOfSorted(acks, 50),
    ackP99: percentileOfSorted(acks, 99),
    afterAckP50: percentileOfSorted(afterAck, 50),
    afterAckP99: percentileOfSorted(afterAck, 99),
    sendTimes: report.sendTimes,
    ackTimes: report.ackTimes,
  };
}

if (require.main === module) {
  const c = JSON.parse(process.argv[2] ?? '{}') as LoadCase;
  runLoad(c).then(
    // exit once the result (with every record's times, so not small) is handed to the channel
    (result) => void process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`sse-load: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
