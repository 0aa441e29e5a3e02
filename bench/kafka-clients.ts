import type { Kafka, Message, Producer } from 'kafkajs';

/**
 * The two sides of the kafka engine benchmark, measured the same way: kafkajs talking to the
 * cluster directly, and HTTP clients talking to Basket, which talks to the same cluster.
 */
export interface Sample {
  /** NaN where the client does not expose its requests. */
  requests: number;
  records: number;
  seconds: number;
  /** One entry per request, ms. */
  latenciesMs: number[];
  errors: number;
}

/**
 * `concurrency` loops each send `messages` as one producer.send() until `durationSec` is over.
 * The producer's partitioner spreads keyless records, so a batch becomes one Produce request per
 * leader, as a Basket request's records become one append per partition.
 */
export async function produceDirect(producer: Producer, topic: string, messages: Message[], options: { concurrency: number; durationSec: number; acks: number }): Promise<Sample> {
  const latenciesMs: number[] = [];
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + options.durationSec * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await producer.send({ topic, acks: options.acks, messages });
        latenciesMs.push(performance.now() - t0);
        requests++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  return { requests, records: requests * messages.length, seconds, latenciesMs, errors };
}

/** Offsets [start, end) of one partition, by partition number. */
export interface ReadRange {
  start: number;
  end: number;
}

/**
 * A kafkajs consumer reads every partition from its log start offset until it has seen each
 * range. The clock starts when the group is joined, so the group protocol's own delays are not
 * counted against kafkajs.
 */
export async function consumeDirect(kafka: Kafka, topic: string, ranges: ReadRange[], timeoutMs: number): Promise<Sample> {
  const consumer = kafka.consumer({ groupId: `bench-direct-${process.pid}-${Date.now()}`, maxBytesPerPartition: 1 << 20, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let joinedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
    const seen = ranges.map((r) => r.start);
    let records = 0;
    const done = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafkajs read ${records} records in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = ranges[batch.partition]!;
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset >= range.start && offset < range.end) records++;
            seen[batch.partition] = Math.max(seen[batch.partition]!, offset + 1);
          }
          if (seen.every((s, p) => s >= ranges[p]!.end)) {
            clearTimeout(timer);
            resolve(performance.now());
          }
        },
      });
    });
    const finishedAt = await done;
    // no request count: kafkajs fetches in the background, eachBatch sees batches, not requests
    return { requests: NaN, records, seconds: (finishedAt - joinedAt) / 1000, latenciesMs: [], errors: 0 };
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Stateless reads through Basket: one loop per partition of GET
 * /topics/{t}/partitions/{p}/records?offset=, each continuing after the last offset it got.
 */
export async function readThroughBasket(url: string, topic: string, ranges: ReadRange[]): Promise<Sample> {
  const latenciesMs: number[] = [];
  let records = 0;
  const started = performance.now();
  await Promise.all(
    ranges.map(async ({ start, end }, partition) => {
      let offset = start;
      while (offset < end) {
        const t0 = performance.now();
        const res = await fetch(`${url}/topics/${topic}/partitions/${partition}/records?offset=${offset}`);
        const body = (await res.json()) as { offset: number }[];
        latenciesMs.push(performance.now() - t0);
        if (res.status !== 200 || !Array.isArray(body) || body.length === 0) {
          throw new Error(`read ${topic}/${partition} at ${offset}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        }
        records += body.filter((r) => r.offset < end).length;
        offset = body[body.length - 1]!.offset + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { requests: latenciesMs.length, records, seconds, latenciesMs, errors: 0 };
}
