/**
 * The producer of bench/sse.ts, in a process of its own so that reading thousands of event streams
 * never delays a send or the reading of its answer. It POSTs one record per request (acks=1) on a
 * fixed schedule: record i is due at start + i / rate, and a timer sleeps until the next one is due
 * (no polling loop). Each record's value carries its sequence number. Times are on the machine's
 * monotonic clock (bench/sse-clock.ts), the same in every process, so the subscribers' process can
 * measure from the start of the request that carried a record to the moment it read the event.
 */
import { Agent, request } from 'node:http';
import { nowMs } from './sse-clock';

export interface ProduceJob {
  base: string;
  topic: string;
  rate: number;
  total: number;
}

export interface ProduceReport {
  /** When each record's request started, ms on the shared clock. */
  sendTimes: number[];
  /** Each request's round trip, ms. */
  ackTimes: number[];
}

export function produceAll(job: ProduceJob): Promise<ProduceReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sendTimes = new Array<number>(job.total).fill(NaN);
  const ackTimes = new Array<number>(job.total).fill(NaN);
  const url = `${job.base}/topics/${job.topic}?acks=1`;
  let acked = 0;
  return new Promise((resolve, reject) => {
    const send = (seq: number): void => {
      const body = JSON.stringify({ records: [{ value: { seq } }] });
      // x-seq lets the server's probe (bench/sse-server-probe.ts) match a request to its record
      const headers = { 'content-type': 'application/vnd.kafka.json.v2+json', 'content-length': Buffer.byteLength(body), 'x-seq': String(seq) };
      sendTimes[seq] = nowMs();
      const req = request(url, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        if (res.statusCode !== 200) reject(new Error(`produce: HTTP ${res.statusCode}`));
        res.on('end', () => {
          ackTimes[seq] = nowMs() - sendTimes[seq];
          if (++acked === job.total) {
            agent.destroy();
            resolve({ sendTimes, ackTimes });
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    };
    const start = nowMs();
    const interval = 1000 / job.rate;
    let next = 0;
    const tick = (): void => {
      const now = nowMs();
      while (next < job.total && start + next * interval <= now) send(next++);
      if (next < job.total) setTimeout(tick, Math.max(0, start + next * interval - nowMs()));
    };
    tick();
  });
}

if (require.main === module) {
  process.once('message', (job: ProduceJob) => {
    produceAll(job).then(
      (report) => process.send?.(report, () => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`sse-producer: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  });
}
