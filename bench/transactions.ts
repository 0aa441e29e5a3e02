import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedEngine } from '../src/engine/embedded/embedded-engine';
import type { IsolationLevel } from '../src/engine/storage-engine';
import { startBasket } from './servers';

/**
 * What transactions cost. Basket runs as a child process on the embedded engine.
 *   one-shot:   POST /transactions with 3 records across 2 topics, committed in the request
 *               (autocannon, 16 and 64 connections), beside a plain produce of the same 3 records
 *               to one topic with acks=all (one request, no transaction)
 *   multi-step: begin, records (3 across 2 topics), commit: 3 requests per transaction, from 16
 *               concurrent clients with keep-alive
 *   reads:      the same partition read from offset 0 in 1 MiB pages with isolation_level
 *               read_uncommitted and read_committed; the partition holds committed transactions with
 *               every fourth one aborted, so read_committed skips batches and checks the aborted index
 *   scans:      the same in-process on the engine alone (no HTTP, no JSON): a whole partition of
 *               20,000 transactions read in 1 MiB fetches, the two isolation levels in alternating rounds,
 *               with no transaction aborted (the cost of the checks alone) and with 1 in 4 aborted
 * Usage: node dist/bench/transactions.js [durationSec=5] [scans: the engine scans only]
 */
const durationSec = Number(process.argv[2] ?? 5);
const JSON_V2 = 'application/vnd.kafka.json.v2+json';

function value(i: number): unknown {
  return { id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12 };
}

const threeRecords = [
  { topic: 'bench-orders', key: 'o-1', value: value(1) },
  { topic: 'bench-orders', key: 'o-2', value: value(2) },
  { topic: 'bench-audit', value: { event: 'orders created', count: 2 } },
];

async function cannon(url: string, method: 'POST' | 'GET', path: string, body: string | undefined, connections: number, seconds: number) {
  const result = await autocannon({ url, connections, duration: seconds, requests: [{ method, path, headers: { 'content-type': JSON_V2, accept: JSON_V2 }, body }] });
  return { rps: result.requests.average, bytes: result.throughput.average, failures: result.non2xx + result.errors, latencyP50: result.latency.p50, latencyP99: result.latency.p99 };
}

function call(agent: Agent, port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, method, path, agent, headers: payload === undefined ? { 'content-type': 'application/json', 'content-length': 0 } : { 'content-type': JSON_V2, 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** begin, records, commit (or abort) as separate requests, from `clients` loops, for `seconds`. */
async function multiStep(port: number, clients: number, seconds: number, abortEvery = 0): Promise<{ tps: number; failures: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let failures = 0;
  const client = async (): Promise<void> => {
    while (Date.now() < until) {
      const begun = await call(agent, port, 'POST', '/transactions');
      if (begun.status !== 201) {
        failures++;
        continue;
      }
      const id = begun.body.transaction_id as string;
      const written = await call(agent, port, 'POST', `/transactions/${id}/records`, { records: threeRecords });
      const abort = abortEvery > 0 && done % abortEvery === abortEvery - 1;
      const ended = await call(agent, port, 'POST', `/transactions/${id}/${abort ? 'abort' : 'commit'}`);
      if (written.status !== 200 || ended.status !== 200) failures++;
      else done++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: clients }, client));
  agent.destroy();
  return { tps: (done * 1000) / (Date.now() - started), failures };
}

/** Records per second of whole-partition scans on the engine, per isolation level, alternating rounds. */
async function engineScans(rounds: number, abortOneIn: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-txn-scan-'));
  const engine = new EmbeddedEngine({ dataDir }, pino({ level: 'silent' }));
  await engine.start();
  try {
    await engine.createTopic({ name: 'scan', partitions: 1 });
    const { firstProducerId } = await engine.allocateProducerIds(64);
    const seq = new Map<number, number>();
    const payload = Buffer.from(JSON.stringify(value(1)));
    for (let i = 0; i < 20_000; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, 20_000 - i) }, async (_, w) => {
          const pid = firstProducerId + w;
          const epoch = seq.get(pid) ?? 0;
          seq.set(pid, epoch + 1);
          await engine.append('scan', 0, [{ key: null, value: payload }, { key: null, value: payload }], { acks: 1, producer: { producerId: pid, producerEpoch: epoch, baseSequence: 0 }, transactional: true });
          await engine.writeTxnMarkers([{ topic: 'scan', partition: 0, producerId: pid, producerEpoch: epoch, commit: abortOneIn === 0 || (i + w) % abortOneIn !== abortOneIn - 1, coordinatorEpoch: 0 }]);
        }),
      );
    }
    const end = (await engine.listOffset('scan', 0, 'latest')).offset;
    const scan = async (isolationLevel: IsolationLevel): Promise<{ records: number; ms: number }> => {
      const started = process.hrtime.bigint();
      let offset = 0;
      let records = 0;
      while (offset < end) {
        const res = await engine.fetch({ partitions: [{ topic: 'scan', partition: 0, offset }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel });
        const p = res.partitions[0]!;
        records += p.records.length;
        offset = p.nextOffset;
      }
      return { records, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };
    await scan('read_uncommitted');
    await scan('read_committed');
    const rates: Record<IsolationLevel, number[]> = { read_uncommitted: [], read_committed: [] };
    const counts: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      for (const level of ['read_uncommitted', 'read_committed'] as IsolationLevel[]) {
        const { records, ms } = await scan(level);
        counts[level] = records;
        rates[level].push((end / ms) * 1000);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `engine scans of ${end} offsets (20,000 transactions of 2 records + marker, ${abortOneIn === 0 ? 'none' : `1 in ${abortOneIn}`} aborted), ${rounds} rounds: ` +
        `read_uncommitted ${Math.round(mean(rates.read_uncommitted))} offsets/s (${counts.read_uncommitted} records) | ` +
        `read_committed ${Math.round(mean(rates.read_committed))} offsets/s (${counts.read_committed} records) | ratio ${(mean(rates.read_committed) / mean(rates.read_uncommitted)).toFixed(2)}`,
    );
  } finally {
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[3] === 'scans') {
    await engineScans(5, 0);
    return engineScans(5, 4);
  }
  console.log(`transactions, node ${process.version}; ${durationSec}s per run; 3 records (~${JSON.stringify(value(1)).length}-byte values) across 2 topics per transaction`);
  const basket = await startBasket(18097, { BASKET_DEFAULT_ACKS: 'all' });
  const port = 18097;
  try {
    const oneShot = JSON.stringify({ records: threeRecords });
    const plain = JSON.stringify({ records: threeRecords.map(({ topic: _t, ...r }) => r) });
    await cannon(basket.url, 'POST', '/transactions', oneShot, 16, 1);
    await cannon(basket.url, 'POST', '/topics/bench-plain?acks=all', plain, 16, 1);
    for (const connections of [16, 64]) {
      const t = await cannon(basket.url, 'POST', '/transactions', oneShot, connections, durationSec);
      const p = await cannon(basket.url, 'POST', '/topics/bench-plain?acks=all', plain, connections, durationSec);
      console.log(
        `one-shot, ${String(connections).padStart(2)} connections: ${Math.round(t.rps).toString().padStart(6)} tx/s (${Math.round(t.rps * 3)} rec/s, p50 ${t.latencyP50} ms, p99 ${t.latencyP99} ms, failures ${t.failures}) | ` +
          `plain acks=all produce of 3 records: ${Math.round(p.rps)} req/s (p50 ${p.latencyP50} ms) | ratio ${(t.rps / p.rps).toFixed(2)}`,
      );
    }
    await multiStep(port, 16, 1);
    const m = await multiStep(port, 16, durationSec);
    console.log(`multi-step (begin, records, commit), 16 clients: ${Math.round(m.tps)} tx/s, failures ${m.failures}`);

    // Reads: a partition of committed transactions with every fourth aborted.
    const filled = await multiStep(port, 16, durationSec, 4);
    const hw = ((await (await fetch(`${basket.url}/topics/bench-orders/partitions/0/offsets`)).json()) as { end_offset: number }).end_offset;
    console.log(`read fixture: bench-orders-0 up to offset ${hw} (${Math.round(filled.tps)} tx/s while filling, 1 in 4 aborted)`);
    const page = (isolation: string) => `/topics/bench-orders/partitions/0/records?offset=0&max_bytes=1048576&isolation_level=${isolation}`;
    const firstPage = async (isolation: string) => ((await (await fetch(`${basket.url}${page(isolation)}`, { headers: { accept: JSON_V2 } })).json()) as unknown[]).length;
    const counts = { uncommitted: await firstPage('read_uncommitted'), committed: await firstPage('read_committed') };
    await cannon(basket.url, 'GET', page('read_uncommitted'), undefined, 8, 1);
    await cannon(basket.url, 'GET', page('read_committed'), undefined, 8, 1);
    const ru = await cannon(basket.url, 'GET', page('read_uncommitted'), undefined, 8, durationSec);
    const rc = await cannon(basket.url, 'GET', page('read_committed'), undefined, 8, durationSec);
    console.log(
      `reads of one 1 MiB page, 8 connections: read_uncommitted ${Math.round(ru.rps)} req/s (${counts.uncommitted} records, ${Math.round(ru.rps * counts.uncommitted)} rec/s) | ` +
        `read_committed ${Math.round(rc.rps)} req/s (${counts.committed} records, ${Math.round(rc.rps * counts.committed)} rec/s) | req/s ratio ${(rc.rps / ru.rps).toFixed(2)}, failures ${ru.failures + rc.failures}`,
    );
  } finally {
    await basket.stop();
  }
  await engineScans(5, 0);
  await engineScans(5, 4);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
