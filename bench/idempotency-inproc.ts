import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { runWithBasketFlags } from './with-basket-flags';
import { median } from './stats';
import type * as EngineModule from '../src/engine/embedded/embedded-engine';
import type * as PartitionerModule from '../src/engine/partitioner';
import type * as ProduceServiceModule from '../src/produce/produce-service';
import type * as KeyStoreModule from '../src/produce/idempotency/idempotency-key-store';
import type * as ProducerModule from '../src/produce/idempotency/idempotent-producer';
import type * as FingerprintModule from '../src/produce/idempotency/request-fingerprint';

/**
 * The produce stack of one or more builds called directly, in one process, without HTTP: CPU time
 * per single-record acks=1 request, keyed (a fresh Idempotency-Key each) or not. Each build gets its
 * own engine, key store and data directory; after a warm-up (enough keyed requests to fill the key
 * table, so eviction runs as in service) the builds take turns, `rounds` rounds of `perRound`
 * requests with 64 in flight, the order reversed every other round, so a before/after comparison
 * shares the machine's state and noise. What it cannot compare: garbage collection of what a build
 * keeps for long (the builds share one heap), and anything of the HTTP layer.
 * Usage: node dist/bench/idempotency-inproc.js [key|nokey] [rounds=12] [perRound=20000] [warm=200000] [otherDist...]
 * (this build's dist first; other dists are builds of other commits, e.g. in git worktrees).
 */
const mode = process.argv[2] ?? 'key';
const rounds = Number(process.argv[3] ?? 12);
const perRound = Number(process.argv[4] ?? 20_000);
const warm = Number(process.argv[5] ?? 200_000);
const dists = [resolve(__dirname, '..'), ...process.argv.slice(6).map((d) => resolve(d))];
const IN_FLIGHT = 64;
const VALUE = { id: 1, user: 'user-1', item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' };
const BODY = JSON.stringify({ records: [{ value: VALUE }] });

interface Build {
  dist: string;
  /** Runs `count` requests, IN_FLIGHT at a time. */
  run(count: number): Promise<void>;
  close(): Promise<void>;
}

async function open(dist: string, n: number): Promise<Build> {
  const load = <T>(path: string): T => require(join(dist, path)) as T;
  const { EmbeddedEngine } = load<typeof EngineModule>('src/engine/embedded/embedded-engine');
  const { DefaultPartitioner } = load<typeof PartitionerModule>('src/engine/partitioner');
  const { ProduceService } = load<typeof ProduceServiceModule>('src/produce/produce-service');
  const { IdempotencyKeyStore } = load<typeof KeyStoreModule>('src/produce/idempotency/idempotency-key-store');
  const { IdempotentProducer } = load<typeof ProducerModule>('src/produce/idempotency/idempotent-producer');
  const { requestFingerprint } = load<typeof FingerprintModule>('src/produce/idempotency/request-fingerprint');
  const silent = pino({ level: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'basket-bench-inproc-'));
  const engine = new EmbeddedEngine({ dataDir: dir, defaultPartitions: 1, retentionCheckIntervalMs: 3_600_000 }, silent);
  await engine.start();
  const produce = new ProduceService(engine, new DefaultPartitioner(), { autoCreateTopics: true, numPartitions: 1 }, silent);
  const store = new IdempotencyKeyStore(join(dir, 'idempotency'), { ttlMs: 86_400_000, maxKeys: 200_000 }, silent);
  const producer = new IdempotentProducer(produce, store, silent);
  producer.start();
  const value = Buffer.from(JSON.stringify(VALUE));
  let seq = 0;
  const one = async (): Promise<void> => {
    const records = [{ key: null, value }];
    if (mode === 'nokey') {
      await produce.produce('t', records, 1);
      return;
    }
    const key = `key-${process.pid}-${n}-${seq++}`;
    const fingerprint = requestFingerprint('POST', '/topics/t', 'application/vnd.kafka.json.v2+json', BODY);
    const sent = await producer.send({ key, fingerprint, topic: 't', records, acks: 1, async: false });
    await sent.done;
  };
  return {
    dist,
    async run(count) {
      let left = count;
      const worker = async (): Promise<void> => {
        while (left-- > 0) await one();
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    },
    async close() {
      await producer.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  console.log(`idempotency in process, node ${process.version}: ${mode}, ${rounds} rounds of ${perRound} requests per build, ${warm} to warm up`);
  const builds: Build[] = [];
  for (let i = 0; i < dists.length; i++) builds.push(await open(dists[i], i));
  for (const b of builds) await b.run(warm);
  const samples = builds.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    const order = builds.map((_, i) => (r % 2 === 0 ? i : builds.length - 1 - i));
    for (const i of order) {
      const before = process.cpuUsage();
      await builds[i].run(perRound);
      const used = process.cpuUsage(before);
      samples[i].push((used.user + used.system) / perRound);
    }
  }
  builds.forEach((b, i) => {
    const label = i === 0 ? 'this build' : b.dist;
    console.log(`${label}: median ${median(samples[i]).toFixed(2)} us CPU per request (rounds ${samples[i].map((x) => x.toFixed(1)).join(' ')})`);
  });
  for (const b of builds) await b.close();
}

runWithBasketFlags();
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
