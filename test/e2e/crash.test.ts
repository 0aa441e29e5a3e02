import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { startBasket } from './process';

/**
 * kill -9 of the real process while producers send acks=all records: every record acknowledged
 * before the kill is read back after the restart, at the offset it was acknowledged with.
 */
const CONNECTIONS = 16;
const RECORDS_BEFORE_KILL = 3000;

function produce(agent: Agent, port: number, value: string): Promise<{ partition: number; offset: number } | undefined> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ records: [{ value }] });
    const req = request(
      { host: '127.0.0.1', port, path: '/topics/crash?acks=all', method: 'POST', agent, headers: { 'content-type': 'application/vnd.kafka.json.v2+json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(undefined);
          const o = JSON.parse(data).offsets[0];
          resolve({ partition: o.partition, offset: o.offset });
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

test('kill -9 during acks=all load loses no acknowledged record', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-crash-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  for (let cycle = 0; cycle < 3; cycle++) {
    const basket = await startBasket({ BASKET_DATA_DIR: dataDir, BASKET_NUM_PARTITIONS: '2' });
    t.after(() => basket.kill());
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const acked = new Map<string, { partition: number; offset: number }>();
    let sent = 0;
    let killed = false;
    const worker = async (w: number) => {
      while (!killed) {
        const value = `c${cycle}-w${w}-${sent++}`;
        const ack = await produce(agent, basket.port, value);
        if (ack !== undefined) acked.set(value, ack);
        if (acked.size >= RECORDS_BEFORE_KILL && !killed) {
          killed = true;
          await basket.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
    agent.destroy();
    assert.ok(acked.size >= RECORDS_BEFORE_KILL);

    const restarted = await startBasket({ BASKET_DATA_DIR: dataDir });
    const found = new Map<string, { partition: number; offset: number }>();
    for (const p of [0, 1]) {
      let offset = 0;
      for (;;) {
        const res = await fetch(`${restarted.url}/topics/crash/partitions/${p}/records?offset=${offset}&max_bytes=1048576`);
        assert.equal(res.status, 200, await res.clone().text());
        const records = (await res.json()) as Array<{ value: string; partition: number; offset: number }>;
        if (records.length === 0) break;
        for (const r of records) found.set(r.value, { partition: r.partition, offset: r.offset });
        offset = (records[records.length - 1] as { offset: number }).offset + 1;
      }
    }
    for (const [value, ack] of acked) {
      assert.deepEqual(found.get(value), ack, `acknowledged record ${value} lost or moved (cycle ${cycle})`);
    }
    assert.equal(await restarted.stop(), 0);
  }
});
