import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { loadConfig } from '../src/config/load-config';
import { createContainer } from '../src/container';
import { buildApp } from '../src/app';
import { TOKENS } from '../src/tokens';
import type { ProducerRecord, StorageEngine } from '../src/engine/storage-engine';
import { jsonValueMemo } from '../src/engine/embedded/json-value-memo';
import { httpGet, threadCpuNs, type ClientJob, type ClientResult } from './consume-client';
import { percentile } from './stats';
import { runWithBasketFlags } from './with-basket-flags';

/**
 * Consume benchmarks of consumer instances, on an in-process app listening on 127.0.0.1, read over
 * real HTTP with keep-alive by a client in a worker thread (so the client's parsing does not share
 * the server's event loop):
 *   throughput: stored records read through GET records (records/s, MB/s of values) by one
 *               instance, and by one instance per partition in parallel; beside the engine's fetch
 *               called directly in the same run (the HTTP layer's cost as a ratio);
 *   wake-up:    from an append to the response of a waiting long-poll (p50/p99), beside a waiting
 *               engine.fetch woken by the same kind of append.
 *   each GET records configuration runs through the fused path (engine.fetchCursors: stored batch
 *   bytes straight to JSON) and through the object path (engine.fetch's record objects), rounds
 *   interleaved, medians printed.
 *   each GET records line also shows the server thread's busy time per record and its idle share
 *   (its event loop's utilization: the server and the engine's JS run on this thread), and how busy
 *   the client threads were (a client near 100% would be the limit, not the server).
 * Usage: node dist/bench/consume.js [records=1000000] [wakeups=500] [rounds=3]
 *   CONSUME_ONLY=json-1m-x4,binary-1m-x4 runs those configurations only (format-max_bytes-instances,
 *   "-parse" for the parsing client, "-first" for the first read of batches produced as json,
 *   "-unmarked" for the first read of batches not marked at produce); CONSUME_PATHS=fused leaves the
 *   object path out.
 */
const RECORDS = Number(process.argv[2] ?? 1_000_000);
const WAKEUPS = Number(process.argv[3] ?? 500);
const ROUNDS = Number(process.argv[4] ?? 3);
const PARTITIONS = 4;
const V2 = 'application/vnd.kafka.v2+json';
const ONLY = process.env.CONSUME_ONLY?.split(',');
const PATHS = process.env.CONSUME_PATHS === 'fused' ? (['fused'] as const) : (['object', 'fused'] as const);

function httpSend(method: string, url: string, body: unknown, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, agent, headers: payload === undefined ? {} : { 'content-type': V2, 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function value(i: number): Buffer {
  // ~100 bytes of JSON text, as in the produce benchmark
  return Buffer.from(JSON.stringify({ id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' }));
}

async function fill(engine: StorageEngine, topic: string): Promise<number> {
  await engine.createTopic({ name: topic, partitions: PARTITIONS });
  let valueBytes = 0;
  const perPartition = Math.ceil(RECORDS / PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    for (let base = 0; base < perPartition; base += 1000) {
      const batch: ProducerRecord[] = [];
      for (let i = base; i < Math.min(base + 1000, perPartition); i++) {
        const v = value(i);
        valueBytes += v.length;
        batch.push({ key: Buffer.from(`user-${i % 1000}`), value: v });
      }
      // valuesAreJson as the produce path sets it for a json-format request (values JSON text the
      // body scanner checked): these values are JSON.stringify's, so this stores what an HTTP json
      // produce of the same records stores, and names each batch in the JSON memo as it would.
      await engine.append(topic, p, batch, { acks: 1, valuesAreJson: true });
    }
  }
  return valueBytes;
}

/** The engine's own fetch reading every stored record: the baseline without HTTP. */
async function engineRead(engine: StorageEngine, topic: string, total: number): Promise<number> {
  const started = performance.now();
  const offsets = new Array<number>(PARTITIONS).fill(0);
  let read = 0;
  while (read < total) {
    const res = await engine.fetch({
      partitions: offsets.map((offset, partition) => ({ topic, partition, offset })),
      maxBytes: 1 << 20,
      maxWaitMs: 0,
      isolationLevel: 'read_committed',
    });
    for (const p of res.partitions) {
      read += p.records.length;
      offsets[p.partition] = p.nextOffset;
    }
  }
  return performance.now() - started;
}

/**
 * `instances` consumer instances of one group share the topic (one partition each when there are
 * as many as partitions); a client worker per instance reads its share; the wall time covers all.
 */
async function httpRead(url: string, group: string, topic: string, format: string, maxBytes: number, total: number, instances: number, parse: boolean) {
  const agent = new Agent({ keepAlive: true });
  const bases: string[] = [];
  for (let i = 0; i < instances; i++) {
    const created = await httpSend('POST', `${url}/consumers/${group}`, { name: `c${i}`, format, 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' }, agent);
    if (created.status !== 200) throw new Error(created.body);
    bases.push(`${url}/consumers/${group}/instances/c${i}`);
  }
  for (const base of bases) {
    const subscribed = await httpSend('POST', `${base}/subscription`, { topics: [topic] }, agent);
    if (subscribed.status !== 204) throw new Error(subscribed.body);
  }
  agent.destroy();
  const workers = bases.map(
    (base) =>
      new Worker(join(__dirname, 'consume-client.js'), {
        workerData: { url: `${base}/records?timeout=0&max_bytes=${maxBytes}`, accept: `application/vnd.kafka.${format}.v2+json`, expected: total / instances, parse } satisfies ClientJob,
      }),
  );
  await Promise.all(workers.map((w) => once(w, 'message')));
  const started = performance.now();
  const serverLoop = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const serverCpu = threadCpuNs();
  const results = await Promise.all(
    workers.map((w) => {
      const done = once(w, 'message') as Promise<[ClientResult]>;
      w.postMessage('go');
      return done.then(([r]) => r);
    }),
  );
  const ms = performance.now() - started;
  const cpuUsed = process.cpuUsage(cpu);
  const serverCpuNs = threadCpuNs() - serverCpu;
  // The server's event loop (this thread): busy time per record, idle share; the clients measure their own.
  const server = performance.eventLoopUtilization(serverLoop);
  const clientBusy = results.reduce((sum, r) => sum + r.busy, 0) / results.length;
  await Promise.all(workers.map((w) => w.terminate()));
  const records = results.reduce((n, r) => n + r.records, 0);
  return {
    ms,
    serverUsPerRecord: (server.active * 1000) / records,
    serverCpuUsPerRecord: serverCpuNs / 1000 / records,
    serverIdle: 1 - server.utilization,
    clientBusy,
    /** CPU of the whole process (server, clients, file reads) in cores. */
    cores: (cpuUsed.user + cpuUsed.system) / 1000 / ms,
    clientCpuUsPerRecord: results.reduce((sum, r) => sum + r.cpuNs, 0) / 1000 / records,
    processCpuUsPerRecord: (cpuUsed.user + cpuUsed.system) / records,
    records,
    bodyBytes: results.reduce((n, r) => n + r.bodyBytes, 0),
    requests: results.reduce((n, r) => n + r.requests, 0),
  };
}

/** Append one record while a long-poll waits; the time until its answer arrives. */
async function wakeups(url: string, engine: StorageEngine): Promise<{ http: number[]; engine: number[] }> {
  const topic = 'bench-wake';
  await engine.createTopic({ name: topic, partitions: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await httpSend('POST', `${url}/consumers/wake`, { name: 'w', format: 'binary', 'auto.offset.reset': 'latest', 'auto.commit.enable': 'false' }, agent);
  const base = `${url}/consumers/wake/instances/w`;
  await httpSend('POST', `${base}/subscription`, { topics: [topic] }, agent);
  await httpGet(`${base}/records?timeout=0`, 'application/vnd.kafka.binary.v2+json', agent);
  const http: number[] = [];
  const direct: number[] = [];
  const record = [{ key: null, value: Buffer.from('wake') }];
  for (let i = 0; i < WAKEUPS; i++) {
    const answer = httpGet(`${base}/records?timeout=5000`, 'application/vnd.kafka.binary.v2+json', agent);
    await new Promise((r) => setTimeout(r, 3)); // let the read reach its wait
    const t0 = performance.now();
    await engine.append(topic, 0, record, { acks: 1 });
    const body = await answer;
    http.push(performance.now() - t0);
    if ((JSON.parse(body.toString('utf8')) as unknown[]).length !== 1) throw new Error(`wake-up ${i} read ${body.toString()}`);
  }
  let offset = (await engine.listOffset(topic, 0, 'latest')).offset;
  for (let i = 0; i < WAKEUPS; i++) {
    const waiting = engine.fetch({ partitions: [{ topic, partition: 0, offset }], maxBytes: 1 << 20, maxWaitMs: 5000, isolationLevel: 'read_committed' });
    await new Promise((r) => setTimeout(r, 3));
    const t0 = performance.now();
    await engine.append(topic, 0, record, { acks: 1 });
    const res = await waiting;
    direct.push(performance.now() - t0);
    offset = res.partitions[0]?.nextOffset ?? offset + 1;
  }
  agent.destroy();
  return { http, engine: direct };
}

async function main(): Promise<void> {
  runWithBasketFlags();
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-consume-'));
  const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, configDir: dataDir });
  const container = createContainer(config, pino({ level: 'warn' }));
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  await engine.start();
  const app = await buildApp(container);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as import('node:net').AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  try {
    const topic = 'bench-consume';
    const valueBytes = await fill(engine, topic);
    // the memo as the produce left it, before any read names a batch
    const producedNames = [...jsonValueMemo.keys()];
    const total = Math.ceil(RECORDS / PARTITIONS) * PARTITIONS;
    const valueMB = valueBytes / 1e6;
    console.log(`${total} stored records in ${PARTITIONS} partitions, ${(valueBytes / total).toFixed(0)}-byte JSON values, 8-byte keys, ${producedNames.length} batches named in the JSON memo by the produce`);

    await engineRead(engine, topic, total); // warm-up
    await httpRead(url, 'warm-up', topic, 'json', 1 << 20, total, PARTITIONS, false);
    const engineMs = await engineRead(engine, topic, total);
    const engineRate = total / (engineMs / 1000);
    console.log(`engine.fetch direct                 ${fmt(engineRate)} records/s  ${(valueMB / (engineMs / 1000)).toFixed(0)} MB/s of values`);
    let group = 0;
    const line = (label: string, r: HttpRun, rate: number): string =>
      `GET records ${label} ${fmt(rate)} records/s  ${(valueMB / (r.ms / 1000)).toFixed(0).padStart(4)} MB/s of values  ${(r.bodyBytes / 1e6 / (r.ms / 1000)).toFixed(0).padStart(4)} MB/s of JSON  ${String(r.requests).padStart(4)} requests  HTTP/engine ${(rate / engineRate).toFixed(2)}` +
      `  server thread cpu ${r.serverCpuUsPerRecord.toFixed(2)} us/record, busy ${r.serverUsPerRecord.toFixed(2)} us/record, idle ${pct(r.serverIdle)}  clients busy ${pct(r.clientBusy)}  process ${r.cores.toFixed(2)} cores` +
      `  cpu us/record: clients ${r.clientCpuUsPerRecord.toFixed(2)}, whole process ${r.processCpuUsPerRecord.toFixed(2)}`;
    // json reads here are re-reads (the warm-up read every record), so the embedded engine's memo of
    // batches whose values are all JSON spares their checks. "first read" puts the memo back as the
    // json produce left it (every batch named by the produce path, none by a read); "first read,
    // unmarked" empties it, as for batches produced in the binary format or read after a restart,
    // whose values a json read checks.
    const runs = [
      ['json', 1 << 20, 1, true, ''],
      ['json', 1 << 20, 1, false, ''],
      ['json', 1 << 20, 1, false, 'first'],
      ['json', 1 << 20, 1, false, 'unmarked'],
      ['binary', 1 << 20, 1, false, ''],
      ['json', 8 << 20, 1, false, ''],
      ['json', 1 << 20, PARTITIONS, false, ''],
      ['json', 1 << 20, PARTITIONS, false, 'first'],
      ['json', 1 << 20, PARTITIONS, false, 'unmarked'],
      ['binary', 1 << 20, PARTITIONS, false, ''],
    ] as const;
    // Each configuration through the fused path (engine.fetchCursors) and through the object path
    // (the engine's fetch of record objects, as engines without cursors answer), rounds interleaved
    // so both see the same machine; the median round of each is printed.
    const fused = engine.fetchCursors;
    const usePath = (path: 'fused' | 'object'): void => {
      (engine as { fetchCursors?: unknown }).fetchCursors = path === 'fused' ? fused : undefined;
    };
    for (const [format, maxBytes, instances, parse, firstRead] of runs) {
      if (ONLY !== undefined && !ONLY.includes(`${format}-${maxBytes >> 20}m-x${instances}${parse ? '-parse' : ''}${firstRead === '' ? '' : `-${firstRead}`}`)) continue;
      const samples: Record<'fused' | 'object', Array<HttpRun & { rate: number }>> = { fused: [], object: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const path of PATHS) {
          usePath(path);
          if (firstRead !== '') jsonValueMemo.clear();
          if (firstRead === 'first') for (const name of producedNames) jsonValueMemo.add(name);
          const r = await httpRead(url, `g-${group++}`, topic, format, maxBytes, total, instances, parse);
          samples[path].push({ ...r, rate: r.records / (r.ms / 1000) });
        }
      }
      usePath('fused');
      const label = `${format.padEnd(6)} max_bytes=${maxBytes >> 20}MiB x${instances} ${parse ? 'client parses' : 'client counts'}${firstRead === 'first' ? ', first read' : firstRead === 'unmarked' ? ', first read, unmarked' : ''}`;
      const median = (path: 'fused' | 'object') => [...samples[path]].sort((a, b) => a.rate - b.rate)[Math.floor(ROUNDS / 2)]!;
      const f = median('fused');
      console.log(line(`${label} fused `, f, f.rate));
      if (samples.object.length === 0) continue;
      const o = median('object');
      console.log(line(`${label} object`, o, o.rate) + `  fused/object ${(f.rate / o.rate).toFixed(2)}`);
    }

    if (WAKEUPS > 0) {
      const w = await wakeups(url, engine);
      console.log(`wake-up, append -> long-poll answer over HTTP   p50 ${percentile(w.http, 50).toFixed(2)} ms  p99 ${percentile(w.http, 99).toFixed(2)} ms  (${WAKEUPS} samples)`);
      console.log(`wake-up, append -> waiting engine.fetch        p50 ${percentile(w.engine, 50).toFixed(2)} ms  p99 ${percentile(w.engine, 99).toFixed(2)} ms`);
    }
    console.log('goals: >= 1,000,000 records/s read; wake-up p99 < 5 ms');
  } finally {
    await app.close();
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type HttpRun = Awaited<ReturnType<typeof httpRead>>;

function pct(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(10);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
