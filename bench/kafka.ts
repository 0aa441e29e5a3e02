import { Kafka, Partitioners, logLevel, type Message } from 'kafkajs';
import { MockCluster } from '../test/kafka-mock/mock-cluster';
import { freePort } from '../test/e2e/process';
import { load, type LoadResult } from './load';
import { startBasket, type Server } from './servers';
import { consumeDirect, produceDirect, readThroughBasket, type ReadRange, type Sample } from './kafka-clients';
import { percentile } from './stats';

/**
 * The kafka engine's cost: produce and read through Basket (BASKET_ENGINE=kafka, a child process)
 * beside kafkajs talking to the same cluster directly, in the same run, as ratios.
 *   produce single: one ~100-byte JSON record per request, 64 concurrent requests, acks=all
 *   produce batch:  1,000 such records per request, 8 concurrent requests, acks=all
 *   read:           the records of the batch run, from the log start offset of every partition
 * The cluster is librdkafka's mock (test/kafka-mock/): in memory, in one process, answering one
 * record batch per partition per Fetch. Its figures say little about a real cluster; the ratio
 * of Basket to kafkajs on the same cluster is the point.
 * Usage: node dist/bench/kafka.js [durationSec=5]
 */
const durationSec = Number(process.argv[2] ?? 5);
const PARTITIONS = 3;
const CONNECTIONS = 64;
const BATCH_CONNECTIONS = 8;
const BATCH = 1000;
const READ_CAP = 300_000;

function value(i: number): Record<string, unknown> {
  // ~100 bytes of JSON text, as in bench/produce.ts
  return { id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' };
}

const httpSingle = JSON.stringify({ records: [{ value: value(1) }] });
const httpBatch = JSON.stringify({ records: Array.from({ length: BATCH }, (_, i) => ({ value: value(i) })) });
// the same bytes on the log: the json format stores a value as its JSON text
const kafkaSingle: Message[] = [{ value: JSON.stringify(value(1)) }];
const kafkaBatch: Message[] = Array.from({ length: BATCH }, (_, i) => ({ value: JSON.stringify(value(i)) }));

interface Row {
  name: string;
  recordsPerSec: number;
  requestsPerSec: number;
  p50: number;
  p99: number;
  failed: number;
}

function fromSample(name: string, s: Sample): Row {
  return { name, recordsPerSec: s.records / s.seconds, requestsPerSec: s.requests / s.seconds, p50: percentile(s.latenciesMs, 50), p99: percentile(s.latenciesMs, 99), failed: s.errors };
}

function fromLoad(name: string, r: LoadResult, recordsPerRequest: number): Row {
  return { name, recordsPerSec: r.requestsPerSec * recordsPerRequest, requestsPerSec: r.requestsPerSec, p50: r.p50, p99: r.p99, failed: r.non2xx + r.errors };
}

function print(row: Row): void {
  const ms = (n: number) => (Number.isNaN(n) ? '-'.padStart(6) : n.toFixed(1).padStart(6));
  const rate = (n: number) => (Number.isNaN(n) ? '-' : Math.round(n).toString()).padStart(7);
  console.log(
    `${row.name.padEnd(36)} ${rate(row.requestsPerSec)} req/s ${Math.round(row.recordsPerSec).toString().padStart(9)} records/s` +
      `  p50 ${ms(row.p50)} ms  p99 ${ms(row.p99)} ms  failed ${row.failed}`,
  );
}

async function waitReady(server: Server): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${server.url}/actuator/health/readiness`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('basket did not become ready on the kafka engine');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function offsets(server: Server, topic: string): Promise<ReadRange[]> {
  return Promise.all(
    Array.from({ length: PARTITIONS }, async (_, p) => {
      const res = await fetch(`${server.url}/topics/${topic}/partitions/${p}/offsets`);
      const { beginning_offset: start, end_offset: end } = (await res.json()) as { beginning_offset: number; end_offset: number };
      return { start, end };
    }),
  );
}

/**
 * What each partition holds once the last appends have landed (a load run ends with requests in
 * flight, and each append can move the log start offset: the mock keeps a bounded tail of every
 * partition), capped at READ_CAP records.
 */
async function readRanges(server: Server, topic: string): Promise<ReadRange[]> {
  const deadline = Date.now() + 10_000;
  let last = await offsets(server, topic);
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await offsets(server, topic);
    if (JSON.stringify(now) === JSON.stringify(last)) return now.map(({ start, end }) => ({ start, end: Math.min(end, start + Math.floor(READ_CAP / PARTITIONS)) }));
    if (Date.now() > deadline) throw new Error(`${topic} still changing: ${JSON.stringify(now)}`);
    last = now;
  }
}

async function main(): Promise<void> {
  const cluster = await MockCluster.start(3);
  const kafka = new Kafka({ clientId: 'bench-direct', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
  // keyless records: round robin per record (Basket: sticky, switching every 16 KB as Kafka's batch.size)
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  let basket: Server | undefined;
  try {
    for (const topic of ['direct-single', 'direct-batch', 'basket-single', 'basket-batch']) await cluster.createTopic(topic, PARTITIONS, 3);
    await producer.connect();
    basket = await startBasket(await freePort(), { BASKET_ENGINE: 'kafka', BASKET_KAFKA_BROKERS: cluster.bootstrap, BASKET_AUTO_CREATE_TOPICS: 'false' });
    await waitReady(basket);
    const single = `${basket.url}/topics/basket-single?acks=all`;
    const batch = `${basket.url}/topics/basket-batch?acks=all`;
    console.log(`mock cluster: 3 brokers, ${PARTITIONS} partitions, replication factor 3; value bytes ${kafkaSingle[0]!.value!.length}; ${durationSec}s per run; acks=all`);

    // warm-up: connections, metadata, JIT
    await produceDirect(producer, 'direct-single', kafkaSingle, { concurrency: 8, durationSec: 1, acks: -1 });
    await produceDirect(producer, 'direct-batch', kafkaBatch, { concurrency: 2, durationSec: 1, acks: -1 });
    await load(single, httpSingle, { connections: 8, durationSec: 1 });
    await load(batch, httpBatch, { connections: 2, durationSec: 1 });

    const rows: Record<string, Row> = {};
    const run = (key: string, row: Row) => print((rows[key] = row));
    run('directSingle', fromSample('kafkajs, single record', await produceDirect(producer, 'direct-single', kafkaSingle, { concurrency: CONNECTIONS, durationSec, acks: -1 })));
    run('basketSingle', fromLoad('basket, single record', await load(single, httpSingle, { connections: CONNECTIONS, durationSec }), 1));
    run('directBatch', fromSample('kafkajs, 1000-record batch', await produceDirect(producer, 'direct-batch', kafkaBatch, { concurrency: BATCH_CONNECTIONS, durationSec, acks: -1 })));
    run('basketBatch', fromLoad('basket, 1000-record batch', await load(batch, httpBatch, { connections: BATCH_CONNECTIONS, durationSec }), BATCH));

    const ranges = await readRanges(basket, 'basket-batch');
    const total = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
    console.log(`read window (the mock keeps a bounded tail): ${ranges.map((r, p) => `${p}: ${r.start}..${r.end}`).join(', ')}`);
    run('directRead', fromSample(`kafkajs consumer, read ${total}`, await consumeDirect(kafka, 'basket-batch', ranges, 120_000)));
    run('basketRead', fromSample(`basket GET records, read ${total}`, await readThroughBasket(basket.url, 'basket-batch', ranges)));

    const ratio = (a: string, b: string) => (rows[a]!.recordsPerSec / rows[b]!.recordsPerSec).toFixed(2);
    console.log('');
    console.log(`basket / kafkajs, records/s:  single ${ratio('basketSingle', 'directSingle')}   batch ${ratio('basketBatch', 'directBatch')}   read ${ratio('basketRead', 'directRead')}`);
  } finally {
    await basket?.stop();
    await producer.disconnect().catch(() => undefined);
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
