/**
 * Where the server's time goes on the SSE latency path: a CPU profile of Basket's server (in this
 * process, through the inspector) while the SSE bench's producer sends one record per request at a
 * fixed rate to a topic with one SSE subscriber, then a profile of the bare route
 * (bench/bare-server.ts, in a process of its own, --cpu-prof) under the same load. Each profile is
 * warmed up first (2 s of the same load, not profiled). Prints the self time per produce by
 * category for both, and writes the .cpuprofile files (open them in a browser's devtools).
 *
 *   npx tsc -p . && node dist/bench/sse-profile.js [rate, default 1000] [seconds, default 8] [output dir, default a temp dir]
 *
 * SSE_BENCH_SERVER_DIST=<the dist folder of another build> profiles that build's server instead.
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from './sse-load';
import { runLoadCase } from './sse-load-fork';
import type * as LiveApp from '../test/sse/live-app';
import { runWithBasketFlags } from './with-basket-flags';
import { BASKET_NODE_FLAGS } from '../src/runtime-flags';

const serverDist = process.env.SSE_BENCH_SERVER_DIST;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startServer } = require(serverDist === undefined ? '../test/sse/live-app' : join(serverDist, 'test/sse/live-app')) as typeof LiveApp;

const rate = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 8);
const outDir = process.argv[4] ?? mkdtempSync(join(tmpdir(), 'basket-sse-profile-'));
const SAMPLING_US = 200;
const WARM_UP_MS = 2000;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time by where the code is; the first matching category takes a sample. */
const CATEGORIES: Array<[string, (fn: string, url: string) => boolean]> = [
  ['answer writev (system call)', (fn) => fn === 'writev'],
  ['event write (system call)', (fn) => fn === 'writeBuffer'],
  ['log pwrite (system call)', (fn) => fn === 'writeBuffers'],
  ['GC on the event loop', (fn) => fn === '(garbage collector)'],
  ['SSE: watch, read from memory, decode, lap, frames', (_, url) => /\/src\/(sse\/|engine\/embedded\/(partition-tail|recent-batches|delayed-fetch|log-batch-read|codec\/record-batch-(decoder|header)))/.test(url)],
  ['produce route, body, service', (_, url) => /\/src\/(produce|http)\//.test(url)],
  ['engine append, encode, writer', (_, url) => /\/src\/engine\//.test(url)],
  ['fastify, find-my-way, other packages', (_, url) => url.includes('/node_modules/')],
  ["node's http, net, streams, events", (_, url) => url.startsWith('node:')],
  ['other (program, builtins)', () => true],
];

function selfTimeByCategory(profile: CpuProfile): Map<string, number> {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const out = new Map<string, number>(CATEGORIES.map(([name]) => [name, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]);
    // idle, and the inspector's own work of stopping the profile
    if (frame === undefined || frame.functionName === '(idle)' || frame.functionName === 'dispatch') continue;
    const category = CATEGORIES.find(([, match]) => match(frame.functionName, frame.url));
    if (category !== undefined) out.set(category[0], (out.get(category[0]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return out;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

async function profileBasket(): Promise<{ profile: CpuProfile; produced: number; result: LoadResult }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-sse-profile-data-'));
  const server = await startServer(dataDir);
  try {
    await server.engine.createTopic({ name: 'warm-up', partitions: 1 });
    await runLoadCase({ base: server.base, topic: 'warm-up', mode: 'sse', subscribers: 1, rate, durationMs: WARM_UP_MS });
    await server.engine.createTopic({ name: 'profiled', partitions: 1 });
    const session = new Session();
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: SAMPLING_US });
    await post(session, 'Profiler.start');
    const result = await runLoadCase({ base: server.base, topic: 'profiled', mode: 'sse', subscribers: 1, rate, durationMs: seconds * 1000 });
    const { profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
    session.disconnect();
    return { profile, produced: result.produced, result };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The bare route under the same load; its profile covers the whole process (start-up included), so it counts every request it answered. */
async function profileBare(): Promise<{ profile: CpuProfile; produced: number; result: LoadResult }> {
  const child = fork(join(__dirname, 'bare-server.js'), ['0'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [...BASKET_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${outDir}`, '--cpu-prof-name=bare.cpuprofile', `--cpu-prof-interval=${SAMPLING_US}`],
  });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const base = `http://127.0.0.1:${port}`;
  const warm = await runLoadCase({ base, topic: 'warm-up', mode: 'sse', subscribers: 0, rate, durationMs: WARM_UP_MS });
  const result = await runLoadCase({ base, topic: 'profiled', mode: 'sse', subscribers: 0, rate, durationMs: seconds * 1000 });
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
  const profile = JSON.parse(readFileSync(join(outDir, 'bare.cpuprofile'), 'utf8')) as CpuProfile;
  return { profile, produced: warm.produced + result.produced, result };
}

async function main(): Promise<void> {
  runWithBasketFlags();
  mkdirSync(outDir, { recursive: true });
  const basket = await profileBasket();
  writeFileSync(join(outDir, 'basket.cpuprofile'), JSON.stringify(basket.profile));
  const bare = await profileBare();
  const a = selfTimeByCategory(basket.profile);
  const b = selfTimeByCategory(bare.profile);
  const perProduce = (us: number, n: number): string => `${(us / n).toFixed(1).padStart(7)} µs`;
  console.log(`self time per produce at ${rate}/s, one SSE subscriber, ${seconds} s profiled (${SAMPLING_US} µs sampling); server: ${serverDist ?? 'this build'}`);
  console.log(`${'category'.padEnd(52)}  Basket      bare route`);
  let sumA = 0;
  let sumB = 0;
  for (const [name] of CATEGORIES) {
    sumA += a.get(name) ?? 0;
    sumB += b.get(name) ?? 0;
    console.log(`${name.padEnd(52)} ${perProduce(a.get(name) ?? 0, basket.produced)} ${perProduce(b.get(name) ?? 0, bare.produced)}`);
  }
  console.log(`${'busy in all'.padEnd(52)} ${perProduce(sumA, basket.produced)} ${perProduce(sumB, bare.produced)}`);
  const f = (v: number): string => v.toFixed(2);
  console.log(`while profiled: SSE produce -> event p50 ${f(basket.result.p50)} p99 ${f(basket.result.p99)} ms; bare route round trip p50 ${f(bare.result.ackP50)} p99 ${f(bare.result.ackP99)} ms`);
  console.log(`profiles: ${join(outDir, 'basket.cpuprofile')}, ${join(outDir, 'bare.cpuprofile')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
