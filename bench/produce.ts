import { load, type LoadResult } from './load';
import { startBare, startBasket } from './servers';

/**
 * Produce throughput, each Basket figure beside a bare Fastify route that parses the same body,
 * measured in the same run (the machine is shared and noisy: ratios hold, absolute figures drift).
 *   single: one ~100-byte JSON record per request, 64 keep-alive connections, acks=1 and acks=all
 *   batch:  1,000 such records per request
 * Usage: node dist/bench/produce.js [durationSec=10]
 */
const durationSec = Number(process.argv[2] ?? 10);
const CONNECTIONS = 64;

function record(i: number): { value: unknown } {
  // ~100 bytes of JSON text per value
  return { value: { id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' } };
}

const single = JSON.stringify({ records: [record(1)] });
const batch = JSON.stringify({ records: Array.from({ length: 1000 }, (_, i) => record(i)) });

function line(name: string, r: LoadResult, recordsPerRequest: number): string {
  const rps = r.requestsPerSec;
  return `${name.padEnd(34)} ${Math.round(rps).toString().padStart(8)} req/s ${Math.round(rps * recordsPerRequest).toString().padStart(10)} records/s  p50 ${r.p50} ms  p99 ${r.p99} ms  non2xx ${r.non2xx} errors ${r.errors}`;
}

async function main(): Promise<void> {
  console.log(`value bytes: ${JSON.stringify(record(1).value).length}; duration ${durationSec}s per run; ${CONNECTIONS} connections`);
  const bare = await startBare(18090);
  const basket = await startBasket(18091, { BASKET_DEFAULT_ACKS: '1' });
  try {
    // warm-up: JIT and topic creation
    await load(`${basket.url}/topics/bench-single`, single, { connections: 8, durationSec: 2 });
    await load(`${basket.url}/topics/bench-batch`, batch, { connections: 4, durationSec: 2 });
    await load(`${bare.url}/topics/bench`, single, { connections: 8, durationSec: 2 });

    const bareSingle = await load(`${bare.url}/topics/bench`, single, { connections: CONNECTIONS, durationSec });
    console.log(line('bare fastify, single record', bareSingle, 1));
    const acks1 = await load(`${basket.url}/topics/bench-single?acks=1`, single, { connections: CONNECTIONS, durationSec });
    console.log(line('basket acks=1, single record', acks1, 1));
    const acksAll = await load(`${basket.url}/topics/bench-single?acks=all`, single, { connections: CONNECTIONS, durationSec });
    console.log(line('basket acks=all, single record', acksAll, 1));
    const bareBatch = await load(`${bare.url}/topics/bench`, batch, { connections: 8, durationSec });
    console.log(line('bare fastify, 1000-record batch', bareBatch, 1000));
    const basketBatch = await load(`${basket.url}/topics/bench-batch?acks=1`, batch, { connections: 8, durationSec });
    console.log(line('basket acks=1, 1000-record batch', basketBatch, 1000));
    const basketBatchAll = await load(`${basket.url}/topics/bench-batch?acks=all`, batch, { connections: 8, durationSec });
    console.log(line('basket acks=all, 1000-record batch', basketBatchAll, 1000));

    console.log('');
    console.log(`single acks=1 / bare:   ${(acks1.requestsPerSec / bareSingle.requestsPerSec).toFixed(2)}  (goal >= 0.70)`);
    console.log(`single acks=all / acks=1: ${(acksAll.requestsPerSec / acks1.requestsPerSec).toFixed(2)}  (goal >= 0.50)`);
    console.log(`batch acks=1 records/s: ${Math.round(basketBatch.requestsPerSec * 1000)}  (goal >= 500000); / bare: ${(basketBatch.requestsPerSec / bareBatch.requestsPerSec).toFixed(2)}`);
  } finally {
    await basket.stop();
    await bare.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
