import autocannon from 'autocannon';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBasket, type Server } from './servers';
import { BATCH_BODY, record, SINGLE_BODY } from './produce-bodies';
import { median, medianInterval } from './stats';

/**
 * What an Idempotency-Key per request costs. Basket runs as a child process; autocannon sends the
 * same bodies with a fresh Idempotency-Key per request, or a fresh header Basket ignores (so the
 * load generator does the same work in both).
 *   single: one ~100-byte JSON record per request, 64 connections, acks=1 and acks=all
 *   batch:  1,000 such records per request, 8 connections, acks=1
 * On a shared machine one burst of other work spoils a run, so each scenario runs many short rounds,
 * each round both cases back to back, in alternating order (no key first, then key first), and the
 * figure is the median of the rounds' ratios (keyed / no key requests per second; goal >= 0.85),
 * printed with a bootstrap 95% interval of that median (medianInterval): how far another run's
 * median may land on this machine. More rounds narrow it.
 * Also printed: median rates, the server's CPU time per request (from /proc: it does not count time
 * spent waiting for the machine) and the ratio of those, stored bytes per record of the topic, and
 * the journal's bytes per keyed request.
 * With a second build's dist directory (e.g. an older commit built in a git worktree), both builds
 * run side by side and every round runs all four cases (that build's no key / key, then the other's,
 * in alternating order), so a before/after comparison shares one run's machine load.
 * Usage: node dist/bench/idempotency.js [durationSec=3] [rounds=7] [otherDist|-] [rows]
 * rows: a comma-separated choice of single-1, single-all, batch (all three when absent); `-` for
 * otherDist runs this build alone.
 */
const durationSec = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 7);
const otherDist = process.argv[4] === '-' ? undefined : process.argv[4];
const rowIds = process.argv[5]?.split(',');
const GOAL = 0.85;

const single = SINGLE_BODY;
const batch = BATCH_BODY;

interface Scenario {
  id: string;
  name: string;
  path: string;
  body: string;
  recordsPerRequest: number;
  connections: number;
}

const SCENARIOS: Scenario[] = [
  { id: 'single-1', name: 'single, acks=1', path: '/topics/bench-single-1?acks=1', body: single, recordsPerRequest: 1, connections: 64 },
  { id: 'single-all', name: 'single, acks=all', path: '/topics/bench-single-all?acks=all', body: single, recordsPerRequest: 1, connections: 64 },
  { id: 'batch', name: '1000-record batch, acks=1', path: '/topics/bench-batch-1?acks=1', body: batch, recordsPerRequest: 1000, connections: 8 },
];

let keySeq = 0;
/** Keyed requests each server was sent (warm-ups included), for its journal's bytes per keyed request. */
const keyedRequests = new Map<Server, number>();

function journalBytes(dataDir: string): number {
  const dir = join(dataDir, 'idempotency');
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

interface Run {
  rps: number;
  cpuMicrosPerRequest: number;
  failures: number;
}

async function run(basket: Server, s: Scenario, keyed: boolean, seconds: number): Promise<Run> {
  const prefix = `bench-${process.pid}-${Date.now()}`;
  const cpuBefore = basket.cpuMicros();
  const result = await autocannon({
    url: basket.url,
    connections: s.connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: s.path,
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
        body: s.body,
        // Both runs build a fresh header per request, so the load generator's work is the same.
        setupRequest: (req) => {
          req.headers = { ...req.headers, [keyed ? 'idempotency-key' : 'x-request-seq']: `${prefix}-${keySeq++}` };
          if (keyed) keyedRequests.set(basket, (keyedRequests.get(basket) ?? 0) + 1);
          return req;
        },
      },
    ],
  });
  const cpu = basket.cpuMicros() - cpuBefore;
  if (result.non2xx + result.errors > 0) {
    console.log(`  ${s.name}${keyed ? ' (key)' : ''}: status codes ${JSON.stringify(result.statusCodeStats)}, errors ${result.errors}, timeouts ${result.timeouts}`);
  }
  return { rps: result.requests.average, cpuMicrosPerRequest: cpu / Math.max(1, result.requests.total), failures: result.non2xx + result.errors };
}

async function topicBytes(url: string, topic: string): Promise<{ bytes: number; records: number }> {
  const res = await fetch(`${url}/topics/${topic}/partitions`);
  const partitions = (await res.json()) as Array<{ size_bytes: number; high_watermark: number }>;
  let bytes = 0;
  let records = 0;
  for (const p of partitions) {
    bytes += p.size_bytes;
    records += p.high_watermark;
  }
  return { bytes, records };
}

interface Build {
  label: string;
  basket: Server;
  dataDir: string;
  summary: string[];
}

/** Round `r`'s runs of one scenario: each build's no key / key pair, the order reversed every other round. */
async function round(builds: Build[], s: Scenario, r: number, plain: Run[][], keyed: Run[][]): Promise<void> {
  const order = builds.map((_, i) => i);
  if (r % 2 === 1) order.reverse();
  for (const i of order) {
    if (r % 2 === 0) {
      plain[i].push(await run(builds[i].basket, s, false, durationSec));
      keyed[i].push(await run(builds[i].basket, s, true, durationSec));
    } else {
      keyed[i].push(await run(builds[i].basket, s, true, durationSec));
      plain[i].push(await run(builds[i].basket, s, false, durationSec));
    }
  }
}

async function startBuild(label: string, port: number, start: typeof startBasket): Promise<Build> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-idem-'));
  const basket = await start(port, { BASKET_DEFAULT_ACKS: '1', BASKET_DATA_DIR: dataDir });
  return { label, basket, dataDir, summary: [] };
}

async function main(): Promise<void> {
  console.log(
    `idempotency keys, node ${process.version}; ${durationSec}s per run, ${rounds} rounds of no key / key in alternating order; value ~${JSON.stringify(record(1).value).length} bytes`,
  );
  const builds = [await startBuild(otherDist === undefined ? '' : 'this build', 18095, startBasket)];
  if (otherDist !== undefined) {
    const other = (require(join(otherDist, 'bench', 'servers.js')) as { startBasket: typeof startBasket }).startBasket;
    builds.push(await startBuild(`other build (${otherDist})`, 18096, other));
  }
  try {
    for (const s of SCENARIOS) {
      if (rowIds !== undefined && !rowIds.includes(s.id)) continue;
      for (const b of builds) {
        // warm-up: JIT, topic creation, the key store's first load
        await run(b.basket, s, false, 1);
        await run(b.basket, s, true, 1);
      }
      const plain: Run[][] = builds.map(() => []);
      const keyed: Run[][] = builds.map(() => []);
      for (let r = 0; r < rounds; r++) await round(builds, s, r, plain, keyed);
      for (let i = 0; i < builds.length; i++) await report(builds[i], s, plain[i], keyed[i]);
    }
    for (const b of builds) {
      const label = b.label === '' ? '' : `${b.label}: `;
      console.log(`${label}idempotency journal: ${(journalBytes(b.dataDir) / Math.max(1, keyedRequests.get(b.basket) ?? 0)).toFixed(0)} bytes per keyed request`);
      console.log(`${label}goal: key / no key >= ${GOAL} (median of rounds): ${b.summary.join('; ')}`);
    }
  } finally {
    for (const b of builds) {
      await b.basket.stop();
      rmSync(b.dataDir, { recursive: true, force: true });
    }
  }
}

async function report(b: Build, s: Scenario, plain: Run[], keyed: Run[]): Promise<void> {
  const ratios = plain.map((p, i) => keyed[i].rps / p.rps);
  const ratio = median(ratios);
  const [low, high] = medianInterval(ratios);
  const p = median(plain.map((x) => x.rps));
  const k = median(keyed.map((x) => x.rps));
  const cpuPlain = median(plain.map((x) => x.cpuMicrosPerRequest));
  const cpuKeyed = median(keyed.map((x) => x.cpuMicrosPerRequest));
  const failures = [...plain, ...keyed].reduce((n, x) => n + x.failures, 0);
  const topic = s.path.split('/')[2].split('?')[0];
  const stored = await topicBytes(b.basket.url, topic);
  console.log(
    `${b.label === '' ? '' : `${b.label}: `}${s.name.padEnd(26)} no key ${Math.round(p).toString().padStart(7)} req/s ${Math.round(p * s.recordsPerRequest).toString().padStart(9)} rec/s | ` +
      `key ${Math.round(k).toString().padStart(7)} req/s ${Math.round(k * s.recordsPerRequest).toString().padStart(9)} rec/s | ` +
      `ratio ${ratio.toFixed(2)} (95% interval of the median ${low.toFixed(2)}-${high.toFixed(2)}; rounds ${ratios.map((x) => x.toFixed(2)).join(' ')}) | ` +
      `cpu ${cpuPlain.toFixed(0)} / ${cpuKeyed.toFixed(0)} us/req, ratio ${(cpuPlain / cpuKeyed).toFixed(2)} | ` +
      `${(stored.bytes / Math.max(1, stored.records)).toFixed(1)} B/record | failures ${failures}`,
  );
  b.summary.push(`${s.name}: ${ratio.toFixed(2)} ${ratio >= GOAL ? 'met' : 'NOT met'} (interval ${low.toFixed(2)}-${high.toFixed(2)})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
