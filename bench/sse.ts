/**
 * Server-Sent Events benchmark: end-to-end latency from a produce request to the event arriving
 * (beside the same path through a plain long-poll GET), and fan-out to N subscribers of one topic.
 * The server runs in this process on a real embedded engine in a temp dir, listening on 127.0.0.1;
 * subscribers run in a child process (bench/sse-load.ts) and the producer in a grandchild
 * (bench/sse-producer.ts), so none of them shares another's CPU. Memory is the server process's
 * RSS, sampled every 50 ms.
 *
 *   npx tsc -p . && node --expose-gc dist/bench/sse.js [max subscribers, default 10000] [fan-out seconds, default 5] [latency,fanout,wake] [fan-out sizes, default 100,1000,10000]
 *
 * `latency-sse` is the latency half without the long-poll baseline.
 * `wake` is the server-side part alone, in this process: a fetch parked at the end of a partition,
 * as the event streams' shared tail parks one, and the time from an append to the fetch's answer
 * (and from the append's own answer to it), with no HTTP and no other process involved.
 *
 * SSE_BENCH_LATENCY_SECONDS=<s> (default 10) sets how long each latency case produces: at 1,000/s,
 * 10,000 samples, so its p99 is the 100th slowest rather than (at 3 s) the 30th, which one GC
 * pause could move.
 * SSE_BENCH_WARM_UP_SECONDS=<s> (default 2): each latency case first runs this long on a topic of
 * its own, unmeasured, so the server it measures is in its steady state (JIT-compiled, its young
 * generation grown to the load). SSE_BENCH_RATES=<r,...> (default 100,1000): the latency cases' rates.
 * SSE_BENCH_PRODUCER=inline runs the latency cases' producer in the subscriber's process instead of
 * a process of its own (two client processes become one).
 *
 * Each latency case prints the floor first (the same producer against bench/bare-server.ts in a
 * process of its own) and, under Basket's line, the server probe's (bench/sse-server-probe.ts);
 * SSE_BENCH_LOOP_DELAY=1 adds the event loop's delay histogram to it.
 *
 * SSE_BENCH_SERVER_DIST=<the dist folder of another build> runs that build's server under the same
 * load, for before/after comparisons of server changes in one sitting.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordsOf, type LoadCase } from './sse-load';
import { runLoadCase } from './sse-load-fork';
import type * as LiveApp from '../test/sse/live-app';
import { ServerProbe } from './sse-server-probe';
import { startBare, type Server } from './servers';
import { nowMs } from './sse-clock';
import { percentile } from './stats';
import { runWithBasketFlags } from './with-basket-flags';

const serverDist = process.env.SSE_BENCH_SERVER_DIST;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startServer } = require(serverDist === undefined ? '../test/sse/live-app' : join(serverDist, 'test/sse/live-app')) as typeof LiveApp;

const maxSubscribers = Number(process.argv[2] ?? 10_000);
const fanoutSeconds = Number(process.argv[3] ?? 5);
const cases = (process.argv[4] ?? 'latency,fanout,wake').split(',');
const fanoutSizes = (process.argv[5] ?? '100,1000,10000').split(',').map(Number);
const latencyMs = Number(process.env.SSE_BENCH_LATENCY_SECONDS ?? 10) * 1000;
const latencyRates = (process.env.SSE_BENCH_RATES ?? '100,1000').split(',').map(Number);
const warmUpMs = Number(process.env.SSE_BENCH_WARM_UP_SECONDS ?? 2) * 1000;
const latencyProducer = process.env.SSE_BENCH_PRODUCER === 'inline' ? 'inline' : 'process';

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const ms = (v: number): string => (Number.isNaN(v) ? '-' : Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(0));

/** Append -> answer of a fetch parked at the high watermark, `samples` times, one at a time. */
async function wakeUps(engine: LiveApp.RunningServer['engine'], topic: string, samples: number): Promise<string> {
  await engine.createTopic({ name: topic, partitions: 1 });
  const fromAppend: number[] = [];
  const fromAnswer: number[] = [];
  for (let i = 0; i < samples; i++) {
    const fetching = engine.fetch({ partitions: [{ topic, partition: 0, offset: i }], maxBytes: 1 << 20, maxWaitMs: 10_000, isolationLevel: 'read_committed' });
    // Let the fetch read, find nothing and park before the append.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const start = nowMs();
    let answered = NaN;
    const appended = engine.append(topic, 0, [{ key: null, value: Buffer.from(`{"seq":${i}}`) }], { acks: 1 }).then(() => (answered = nowMs()));
    const response = await fetching;
    const woke = nowMs();
    await appended;
    if (response.partitions[0].records.length !== 1) throw new Error('the parked fetch did not get the appended record');
    fromAppend.push(woke - start);
    fromAnswer.push(woke - answered);
  }
  const f = (v: number): string => v.toFixed(3);
  return (
    `wake-up, append -> parked engine.fetch answered   p50 ${f(percentile(fromAppend, 50))}  p99 ${f(percentile(fromAppend, 99))} ms  (${samples} samples)\n` +
    `wake-up, append answered -> parked fetch answered p50 ${f(percentile(fromAnswer, 50))}  p99 ${f(percentile(fromAnswer, 99))} ms`
  );
}

async function main(): Promise<void> {
  runWithBasketFlags();
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-sse-'));
  const server = await startServer(dataDir, { BASKET_SSE_MAX_STREAMS_PER_CLIENT: String(maxSubscribers + 100) });
  const { base, engine } = server;

  const run = async (name: string, c: Omit<LoadCase, 'base' | 'topic'>, elsewhere?: Server): Promise<void> => {
    const topic = `bench-${name.replace(/[^a-z0-9]+/gi, '-')}`;
    if (elsewhere === undefined) await engine.createTopic({ name: topic, partitions: 1 });
    global.gc?.();
    if (c.subscribers <= 1 && warmUpMs > 0) {
      // The latency cases measure a server in its steady state: JIT-compiled, and its young
      // generation grown to what this load allocates (just after a full GC it is small, and
      // scavenges come several times as often as in a server that has run a while).
      if (elsewhere === undefined) await engine.createTopic({ name: `${topic}-warm-up`, partitions: 1 });
      await runLoadCase({ ...c, durationMs: warmUpMs, base: elsewhere?.url ?? base, topic: `${topic}-warm-up` });
    }
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const cpuBefore = process.cpuUsage();
    const probe = elsewhere === undefined ? new ServerProbe(server.app.server, recordsOf(c)) : undefined;
    const elsewhereCpu = elsewhere?.cpuMicros() ?? 0;
    const r = await runLoadCase({ ...c, base: elsewhere?.url ?? base, topic });
    const cpu = process.cpuUsage(cpuBefore);
    probe?.stop();
    clearInterval(sampler);
    if (elsewhere !== undefined) {
      console.log(`${name.padEnd(40)} ${String(c.rate).padStart(13)}/s  produce round trip p50 ${ms(r.ackP50)} p99 ${ms(r.ackP99)} ms  ` +
        `server cpu ${((elsewhere.cpuMicros() - elsewhereCpu) / 1e6).toFixed(1)} s (the same producer, schedule and body; a route that answers at once, in a process of its own)`);
      return;
    }
    const perSecond = (r.received / r.elapsedMs) * 1000;
    console.log(
      `${name.padEnd(40)} ${String(c.subscribers).padStart(6)} ${String(c.rate).padStart(5)}/s ` +
        `${String(r.received).padStart(8)}/${String(r.expected).padEnd(8)} ${perSecond.toFixed(0).padStart(8)}/s ` +
        `p50 ${ms(r.p50).padStart(6)}  p90 ${ms(r.p90).padStart(6)}  p99 ${ms(r.p99).padStart(6)}  max ${ms(r.max).padStart(6)} ms  ` +
        `rss ${mb(rssBefore)} -> peak ${mb(rssPeak)}  connect ${(r.connectMs / 1000).toFixed(1)} s  ` +
        `server cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s  ` +
        `(produce ack p50 ${ms(r.ackP50)} p99 ${ms(r.ackP99)} ms; event after ack p50 ${ms(r.afterAckP50)} p99 ${ms(r.afterAckP99)} ms)`,
    );
    if (probe !== undefined) console.log(probe.summary(r.sendTimes, r.ackTimes));
  };

  console.log(`node ${process.version}, ${process.platform}; one partition; produce = one POST per record, acks=1; server: ${serverDist ?? 'this build'}`);
  console.log(`${'case'.padEnd(40)}   subs  rate   delivered/expected    rate    latency produce -> event`);
  if (cases.includes('latency') || cases.includes('latency-sse')) {
    const bare = await startBare(0);
    for (const rate of latencyRates) {
      // the floor: the same producer against a route that answers at once, in a process doing nothing else
      await run(`latency @${rate}/s: bare HTTP route (floor)`, { mode: 'sse', subscribers: 0, rate, durationMs: latencyMs, producer: latencyProducer }, bare);
      await run(`latency @${rate}/s: SSE`, { mode: 'sse', subscribers: 1, rate, durationMs: latencyMs, producer: latencyProducer });
      if (cases.includes('latency')) await run(`latency @${rate}/s: long-poll GET (baseline)`, { mode: 'longpoll', subscribers: 1, rate, durationMs: latencyMs, producer: latencyProducer });
    }
    await bare.stop();
  }
  if (cases.includes('fanout')) {
    for (const n of fanoutSizes.filter((x) => x <= maxSubscribers)) {
      await run(`fan-out: SSE x${n}`, { mode: 'sse', subscribers: n, rate: 10, durationMs: fanoutSeconds * 1000 });
    }
  }
  if (cases.includes('wake')) console.log(await wakeUps(engine, 'bench-wake', 500));
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
