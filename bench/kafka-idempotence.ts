import pino from 'pino';
import { KafkaEngine } from '../src/engine/kafka/kafka-engine';
import type { ProducerRecord } from '../src/engine/storage-engine';
import { MockCluster } from '../test/kafka-mock/mock-cluster';
import { record } from './produce-bodies';
import { median } from './stats';

/**
 * What idempotent produce costs the kafka engine: acks=all appends with producer ids (the default)
 * against the same appends with `idempotence: false`, two engines on one mock cluster, rounds
 * interleaved (off, on, off, on, ...) and medians compared, so the machine's load swings hit both.
 *   single: 64 concurrent appends of one ~100-byte record
 *   batch:  8 concurrent appends of 1,000 such records
 * Usage: node dist/bench/kafka-idempotence.js [roundSec=2] [rounds=3]
 */
const roundSec = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 3);
const PARTITIONS = 3;

const value = Buffer.from(JSON.stringify(record(1).value));
const single: ProducerRecord[] = [{ key: null, value }];
const batch: ProducerRecord[] = Array.from({ length: 1000 }, () => ({ key: null, value }));

/** Records appended per second by `concurrency` loops, each appending `records` to partitions in turn. */
async function run(engine: KafkaEngine, topic: string, records: ProducerRecord[], concurrency: number): Promise<number> {
  const end = Date.now() + roundSec * 1000;
  let appended = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let i = loop; Date.now() < end; i++) {
        await engine.append(topic, i % PARTITIONS, records, { acks: -1 });
        appended += records.length;
      }
    }),
  );
  return appended / roundSec;
}

async function main(): Promise<void> {
  const mock = await MockCluster.start(3);
  const logger = pino({ level: 'warn' });
  const make = (idempotence: boolean) => new KafkaEngine({ brokers: mock.brokers, clientId: `bench-${idempotence}`, idempotence }, logger);
  const engines = { off: make(false), on: make(true) };
  try {
    await mock.createTopic('idem-bench', PARTITIONS, 3);
    await Promise.all([engines.off.start(), engines.on.start()]);
    console.log(`mock cluster: 3 brokers, ${PARTITIONS} partitions, RF 3; ${value.length}-byte values; acks=all; ${rounds} interleaved rounds of ${roundSec}s each`);
    for (const [name, records, concurrency] of [['single', single, 64], ['batch 1000', batch, 8]] as const) {
      const results = { off: [] as number[], on: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        for (const mode of ['off', 'on'] as const) results[mode].push(await run(engines[mode], 'idem-bench', [...records], concurrency));
      }
      const off = median(results.off);
      const on = median(results.on);
      const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
      console.log(`${name.padEnd(11)} idempotence off: median ${Math.round(off)} records/s (${fmt(results.off)})`);
      console.log(`${name.padEnd(11)} idempotence on:  median ${Math.round(on)} records/s (${fmt(results.on)})`);
      console.log(`${name.padEnd(11)} on / off: ${(on / off).toFixed(2)}`);
    }
    console.log(`producer ids taken: ${engines.on.producers!.idle} idle lanes, ${engines.on.producers!.retired} retired`);
  } finally {
    await Promise.allSettled([engines.off.close(), engines.on.close()]);
    await mock.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
