import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedEngine } from '../src/engine/embedded/embedded-engine';
import { ProducerRecord } from '../src/engine/storage-engine';
import { load, type LoadResult } from './load';
import { startBasket } from './servers';

/**
 * Batch compression: for each compression.type, the same 1,000-record batches of ~100-byte JSON
 * values, in the same run, so ratios against none hold on a shared, noisy machine.
 *   engine: EmbeddedEngine.append with acks=1 and 16 appends in flight; records/s, stored bytes per
 *           record (the .log files), then PartitionLog.read of the same number of records per codec
 *           (records/s decoded, decompression included).
 *   http:   POST /topics/{t} with the 1,000-record body, 8 connections, acks=1, one topic per codec;
 *           records/s from the requests completed.
 * Codecs take turns in short rounds, so drift on the machine hits them alike.
 * Usage: node dist/bench/compression.js [engineSecondsPerCodec=3] [httpSecondsPerCodec=8]
 */
const engineSeconds = Number(process.argv[2] ?? 3);
const httpSeconds = Number(process.argv[3] ?? 8);
const TYPES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const BATCH = 1000;
const IN_FLIGHT = 16;
const ROUNDS = 4;

/** ~100 bytes of JSON text, varied the way order events vary. */
function value(i: number): Record<string, unknown> {
  return { id: i, user: `user-${(i * 7919) % 10_000}`, item: ['free-range-eggs', 'oat-milk', 'rye-bread'][i % 3], qty: 1 + (i % 12), note: 'leave at the door, deliver before noon' };
}

function batch(round: number): ProducerRecord[] {
  return Array.from({ length: BATCH }, (_, j) => {
    const i = round * BATCH + j;
    return { key: Buffer.from(`user-${(i * 7919) % 10_000}`), value: Buffer.from(JSON.stringify(value(i))) };
  });
}

interface EngineFigures {
  records: number;
  appendMs: number;
  bytes: number;
  readRecordsPerSec: number;
}

async function appendFor(engine: EmbeddedEngine, topic: string, batches: ProducerRecord[][], ms: number): Promise<number> {
  let appended = 0;
  let next = 0;
  const until = performance.now() + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await engine.append(topic, 0, batches[next++ % batches.length], { acks: 1 });
      appended += BATCH;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return appended;
}

/** Reads `count` records from `from` in fetches of up to 1 MiB; returns the records read. */
async function readRange(engine: EmbeddedEngine, topic: string, from: number, count: number): Promise<number> {
  const log = engine.partitionLog(topic, 0)!;
  const end = Math.min(log.highWatermark, from + count);
  let offset = from;
  let read = 0;
  while (offset < end) {
    const { records } = await log.read(offset, 1 << 20, end);
    read += records.length;
    offset = records[records.length - 1].offset + 1;
  }
  return read;
}

async function engineBench(): Promise<Map<string, EngineFigures>> {
  const dir = mkdtempSync(join(tmpdir(), 'basket-bench-compression-'));
  const engine = new EmbeddedEngine({ dataDir: dir }, pino({ level: 'warn' }));
  await engine.start();
  const batches = Array.from({ length: 50 }, (_, r) => batch(r));
  const figures = new Map<string, EngineFigures>();
  try {
    for (const type of TYPES) {
      await engine.createTopic({ name: `bench-${type}`, configs: { 'compression.type': type } });
      await appendFor(engine, `bench-${type}`, batches, 300); // warm-up: JIT, native codec loading
      figures.set(type, { records: 0, appendMs: 0, bytes: 0, readRecordsPerSec: 0 });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const type of TYPES) {
        const start = performance.now();
        const n = await appendFor(engine, `bench-${type}`, batches, (engineSeconds * 1000) / ROUNDS);
        const f = figures.get(type)!;
        f.appendMs += performance.now() - start;
        f.records += n;
      }
    }
    const readMs = new Map<string, number>();
    const readCount = new Map<string, number>();
    for (const type of TYPES) {
      const log = engine.partitionLog(`bench-${type}`, 0)!;
      await log.flush();
      figures.get(type)!.bytes = log.sizeInBytes() / log.highWatermark;
    }
    const perRound = Math.floor(Math.min(...TYPES.map((t) => figures.get(t)!.records)) / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const type of TYPES) {
        const start = performance.now();
        const n = await readRange(engine, `bench-${type}`, round * perRound, perRound);
        readMs.set(type, (readMs.get(type) ?? 0) + performance.now() - start);
        readCount.set(type, (readCount.get(type) ?? 0) + n);
      }
    }
    for (const type of TYPES) figures.get(type)!.readRecordsPerSec = readCount.get(type)! / (readMs.get(type)! / 1000);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

async function httpBench(): Promise<Map<string, { runs: LoadResult[]; bytesPerRecord: number }>> {
  const body = JSON.stringify({ records: Array.from({ length: BATCH }, (_, i) => ({ key: `user-${(i * 7919) % 10_000}`, value: value(i) })) });
  const basket = await startBasket(18095, { BASKET_DEFAULT_ACKS: '1' });
  const out = new Map<string, { runs: LoadResult[]; bytesPerRecord: number }>();
  try {
    for (const type of TYPES) {
      const created = await fetch(`${basket.url}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `http-${type}`, partitions: 1, configs: { 'compression.type': type } }),
      });
      if (created.status !== 201) throw new Error(`creating http-${type}: ${created.status} ${await created.text()}`);
      await load(`${basket.url}/topics/http-${type}`, body, { connections: 4, durationSec: 1 }); // warm-up
    }
    const totals = new Map<string, LoadResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const type of TYPES) {
        const result = await load(`${basket.url}/topics/http-${type}?acks=1`, body, { connections: 8, durationSec: httpSeconds / ROUNDS });
        totals.set(type, [...(totals.get(type) ?? []), result]);
      }
    }
    for (const type of TYPES) {
      const partitions = (await (await fetch(`${basket.url}/topics/http-${type}/partitions`)).json()) as PartitionBody[];
      out.set(type, { runs: totals.get(type)!, bytesPerRecord: storedBytesPerRecord(partitions) });
    }
  } finally {
    await basket.stop();
  }
  return out;
}

/** From GET /topics/{t}/partitions: the partition's bytes on disk over its record count. */
interface PartitionBody {
  size_bytes: number;
  high_watermark: number;
}

function storedBytesPerRecord(partitions: PartitionBody[]): number {
  return partitions[0].size_bytes / partitions[0].high_watermark;
}

function num(n: number, width: number, digits = 0): string {
  return (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a').padStart(width);
}

async function main(): Promise<void> {
  const sample = JSON.stringify(value(1)).length;
  console.log(`compression, ${BATCH}-record batches, JSON values of ~${sample} bytes, node ${process.version}`);
  console.log(`engine: acks=1, ${IN_FLIGHT} appends in flight, ${engineSeconds}s per codec in ${ROUNDS} rounds`);
  const engine = await engineBench();
  const none = engine.get('none')!;
  const noneRate = none.records / (none.appendMs / 1000);
  console.log('  codec      append records/s  vs none   bytes/record  vs none   read records/s  vs none');
  for (const type of TYPES) {
    const f = engine.get(type)!;
    const rate = f.records / (f.appendMs / 1000);
    console.log(
      `  ${type.padEnd(8)} ${num(rate, 16)}  ${num(rate / noneRate, 6, 2)}x ${num(f.bytes, 14, 1)}  ${num(f.bytes / none.bytes, 6, 2)}x ${num(f.readRecordsPerSec, 16)}  ${num(f.readRecordsPerSec / none.readRecordsPerSec, 6, 2)}x`,
    );
  }
  console.log(`http: POST ${BATCH}-record bodies, 8 connections, acks=1, ${httpSeconds}s per codec`);
  const http = await httpBench();
  const httpRate = (type: string): number => {
    const runs = http.get(type)!.runs;
    return (runs.reduce((sum, r) => sum + r.requests, 0) * BATCH) / httpSeconds;
  };
  console.log('  codec      records/s  vs none   bytes/record  worst p50 ms  worst p99 ms  non2xx');
  for (const type of TYPES) {
    const { runs, bytesPerRecord } = http.get(type)!;
    const rate = httpRate(type);
    const p50 = Math.max(...runs.map((r) => r.p50));
    const p99 = Math.max(...runs.map((r) => r.p99));
    const non2xx = runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    console.log(
      `  ${type.padEnd(8)} ${num(rate, 11)}  ${num(rate / httpRate('none'), 6, 2)}x ${num(bytesPerRecord, 14, 1)} ${num(p50, 13)} ${num(p99, 13)} ${num(non2xx, 7)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
