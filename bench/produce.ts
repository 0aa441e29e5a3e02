import { load, type LoadResult } from './load';
import { startBare, startBasket, type Server } from './servers';
import { BATCH_BODY, record, SINGLE_BODY } from './produce-bodies';
import { median } from './stats';

/**
 * Produce throughput, each Basket figure beside a bare Fastify route that parses the same body,
 * measured in the same run (the machine is shared and noisy: ratios hold, absolute figures drift).
 *   single: one ~100-byte JSON record per request, 64 keep-alive connections, acks=1 and acks=all
 *   batch:  1,000 such records per request, 8 connections
 * Each round runs every case once, bare route and Basket back to back; the summary takes the
 * median of the rounds, and each ratio is the median of the per-round ratios, so a burst of other
 * work on the machine spoils one round, not the comparison. "cpu" is the server process's CPU time
 * (all threads, user + system) per record during the case: less sensitive to that noise than
 * throughput, since a waiting server uses none.
 * Usage: node dist/bench/produce.js [durationSec=5] [rounds=3]
 */
const durationSec = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const CONNECTIONS = 64;
const BATCH_CONNECTIONS = 8;

const single = SINGLE_BODY;
const batch = BATCH_BODY;

interface Case {
  name: string;
  server: 'bare' | 'basket';
  path: string;
  body: string;
  recordsPerRequest: number;
  connections: number;
}

const CASES: Case[] = [
  { name: 'bare fastify, single record', server: 'bare', path: '/topics/bench', body: single, recordsPerRequest: 1, connections: CONNECTIONS },
  { name: 'basket acks=1, single record', server: 'basket', path: '/topics/bench-single?acks=1', body: single, recordsPerRequest: 1, connections: CONNECTIONS },
  { name: 'basket acks=all, single record', server: 'basket', path: '/topics/bench-single?acks=all', body: single, recordsPerRequest: 1, connections: CONNECTIONS },
  { name: 'bare fastify, 1000-record batch', server: 'bare', path: '/topics/bench', body: batch, recordsPerRequest: 1000, connections: BATCH_CONNECTIONS },
  { name: 'basket acks=1, 1000-record batch', server: 'basket', path: '/topics/bench-batch?acks=1', body: batch, recordsPerRequest: 1000, connections: BATCH_CONNECTIONS },
  { name: 'basket acks=all, 1000-record batch', server: 'basket', path: '/topics/bench-batch?acks=all', body: batch, recordsPerRequest: 1000, connections: BATCH_CONNECTIONS },
];

interface Run {
  result: LoadResult;
  recordsPerSec: number;
  cpuMicrosPerRecord: number;
}

async function measure(server: Server, c: Case): Promise<Run> {
  const cpuBefore = server.cpuMicros();
  const result = await load(`${server.url}${c.path}`, c.body, { connections: c.connections, durationSec });
  const records = result.requests * c.recordsPerRequest;
  return { result, recordsPerSec: result.requestsPerSec * c.recordsPerRequest, cpuMicrosPerRecord: (server.cpuMicros() - cpuBefore) / records };
}

function line(c: Case, r: Run): string {
  const rps = r.result.requestsPerSec;
  return `${c.name.padEnd(34)} ${Math.round(rps).toString().padStart(8)} req/s ${Math.round(r.recordsPerSec).toString().padStart(10)} records/s  cpu ${r.cpuMicrosPerRecord.toFixed(2).padStart(6)} us/record  p50 ${r.result.p50} ms  p99 ${r.result.p99} ms  non2xx ${r.result.non2xx} errors ${r.result.errors}`;
}

async function main(): Promise<void> {
  console.log(`value bytes: ${JSON.stringify(record(1).value).length}; ${rounds} rounds of ${durationSec}s per case; node ${process.version}`);
  const servers = { bare: await startBare(18090), basket: await startBasket(18091, { BASKET_DEFAULT_ACKS: '1' }) };
  try {
    // warm-up: JIT and topic creation
    await load(`${servers.basket.url}/topics/bench-single`, single, { connections: 8, durationSec: 2 });
    await load(`${servers.basket.url}/topics/bench-batch`, batch, { connections: 4, durationSec: 2 });
    await load(`${servers.bare.url}/topics/bench`, single, { connections: 8, durationSec: 2 });
    await load(`${servers.bare.url}/topics/bench`, batch, { connections: 4, durationSec: 2 });

    const runs = CASES.map(() => [] as Run[]);
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round}`);
      for (let i = 0; i < CASES.length; i++) {
        const c = CASES[i];
        const run = await measure(servers[c.server], c);
        runs[i].push(run);
        console.log(`  ${line(c, run)}`);
      }
    }

    const rate = (i: number) => runs[i].map((r) => r.recordsPerSec);
    const ratios = (a: number, b: number) => runs[a].map((r, n) => r.recordsPerSec / runs[b][n].recordsPerSec);
    const show = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
    console.log('\nmedians of the rounds');
    for (let i = 0; i < CASES.length; i++) {
      console.log(
        `  ${CASES[i].name.padEnd(34)} ${Math.round(median(rate(i))).toString().padStart(10)} records/s  cpu ${median(runs[i].map((r) => r.cpuMicrosPerRecord)).toFixed(2)} us/record`,
      );
    }
    console.log('');
    console.log(`single acks=1 / bare:     ${median(ratios(1, 0)).toFixed(2)}  (rounds: ${show(ratios(1, 0))}; goal >= 0.70)`);
    console.log(`single acks=all / acks=1: ${median(ratios(2, 1)).toFixed(2)}  (rounds: ${show(ratios(2, 1))}; goal >= 0.50)`);
    console.log(`batch acks=1 / bare:      ${median(ratios(4, 3)).toFixed(2)}  (rounds: ${show(ratios(4, 3))})`);
    console.log(`batch acks=1 records/s:   ${Math.round(median(rate(4)))}  (rounds: ${rate(4).map(Math.round).join(' ')}; goal >= 500000)`);
  } finally {
    await servers.basket.stop();
    await servers.bare.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
