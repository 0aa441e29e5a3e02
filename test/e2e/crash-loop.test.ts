import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { startBasket, type BasketProcess } from './process';

/**
 * The crash loop: start the real process, produce with acks=all and an Idempotency-Key per request
 * from several connections, kill -9 it at a random moment, restart it, resend every request that
 * got no answer with its key, and go on. At the end every acknowledged record is where its answer
 * said, and every request, answered before a kill or after a resend, is in the log exactly once.
 */
const CYCLES = 20;
const WORKERS = 8;
const TOPIC = 'crashloop';

interface Sent {
  key: string;
  body: string;
  values: string[];
}

type Answer = { status: number; offsets?: Array<{ partition: number; offset: number }> };

function post(agent: Agent, port: number, sent: Sent): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/topics/${TOPIC}?acks=all`,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json', 'content-length': Buffer.byteLength(sent.body), 'idempotency-key': sent.key },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve({ status: res.statusCode ?? 0 });
          resolve({ status: 200, offsets: JSON.parse(data).offsets });
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(sent.body);
  });
}

function makeRequest(cycle: number, worker: number, n: number): Sent {
  const key = `c${cycle}-w${worker}-${n}`;
  // Some requests span both partitions: their records have keys that hash apart.
  const count = n % 4 === 0 ? 3 : 1;
  const values = Array.from({ length: count }, (_, i) => `${key}/${i}`);
  const records = values.map((value, i) => ({ key: `${key}-${i}`, value }));
  return { key, body: JSON.stringify({ records }), values };
}

async function readAll(basket: BasketProcess): Promise<Map<string, Array<{ partition: number; offset: number }>>> {
  const found = new Map<string, Array<{ partition: number; offset: number }>>();
  for (const p of [0, 1]) {
    let offset = 0;
    for (;;) {
      const res = await fetch(`${basket.url}/topics/${TOPIC}/partitions/${p}/records?offset=${offset}&max_bytes=4194304`);
      assert.equal(res.status, 200, await res.clone().text());
      const records = (await res.json()) as Array<{ value: string; partition: number; offset: number }>;
      if (records.length === 0) break;
      for (const r of records) found.set(r.value, [...(found.get(r.value) ?? []), { partition: r.partition, offset: r.offset }]);
      offset = records[records.length - 1].offset + 1;
    }
  }
  return found;
}

test(`crash loop: ${CYCLES} kill -9 cycles under keyed acks=all load lose nothing acknowledged and write nothing twice`, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-crashloop-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const acked = new Map<string, { sent: Sent; offsets: Array<{ partition: number; offset: number }> }>();
  let unanswered: Sent[] = [];
  let basket = await startBasket({ BASKET_DATA_DIR: dataDir, BASKET_NUM_PARTITIONS: '2' });
  t.after(() => basket.kill());
  let killedWith = 0;

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
    // Requests left without an answer by the last kill: resent with their keys before new load.
    const resends = unanswered;
    unanswered = [];
    for (const sent of resends) {
      const answer = await post(agent, basket.port, sent);
      if (answer?.status === 200) acked.set(sent.key, { sent, offsets: answer.offsets! });
      else unanswered.push(sent);
    }
    let killed = false;
    const killAfterMs = 100 + Math.floor(Math.random() * 300);
    const killer = setTimeout(() => {
      killed = true;
      void basket.kill();
    }, killAfterMs);
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !killed; n++) {
        const sent = makeRequest(cycle, w, n);
        const answer = await post(agent, basket.port, sent);
        if (answer?.status === 200) acked.set(sent.key, { sent, offsets: answer.offsets! });
        else unanswered.push(sent);
        if (answer !== undefined && answer.status !== 200 && !killed) assert.fail(`status ${answer.status} before the kill`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    clearTimeout(killer);
    await basket.kill();
    agent.destroy();
    killedWith += unanswered.length;
    basket = await startBasket({ BASKET_DATA_DIR: dataDir, BASKET_NUM_PARTITIONS: '2' });
  }

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const sent of unanswered) {
    const answer = await post(agent, basket.port, sent);
    assert.equal(answer?.status, 200, `resend of ${sent.key} after the last restart`);
    acked.set(sent.key, { sent, offsets: answer!.offsets! });
  }
  agent.destroy();

  const found = await readAll(basket);
  let records = 0;
  for (const [key, { sent, offsets }] of acked) {
    sent.values.forEach((value, i) => {
      const copies = found.get(value) ?? [];
      assert.equal(copies.length, 1, `${value} is in the log exactly once (request ${key})`);
      assert.deepEqual(copies[0], { partition: offsets[i].partition, offset: offsets[i].offset }, `${value} is where its answer said`);
      records++;
    });
  }
  assert.equal(found.size, records, 'nothing in the log that no request sent');
  assert.ok(acked.size > CYCLES, `load in every cycle (${acked.size} requests)`);
  t.diagnostic(`${acked.size} requests, ${records} records, ${killedWith} requests cut by a kill and resent`);
  assert.equal(await basket.stop(), 0);
});
