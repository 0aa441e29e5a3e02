import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBasket, postJson } from './process';

/**
 * The README's curl walk-through against the real process, then a clean restart: the data is
 * still there and the engine reports a clean start.
 */
test('README walk-through on the real process, data intact across a clean restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-e2e-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let basket = await startBasket({ BASKET_DATA_DIR: dataDir });
  t.after(() => basket.kill());

  const created = await postJson(`${basket.url}/topics`, { name: 'orders', partitions: 3, configs: { 'retention.ms': '86400000' } }, 'application/json');
  assert.equal(created.status, 201);
  const produced = await postJson(`${basket.url}/topics/orders`, {
    records: [
      { key: 'user-1', value: { item: 'egg', qty: 12 } },
      { key: 'user-1', value: { item: 'milk', qty: 1 } },
    ],
  });
  assert.equal(produced.status, 200);
  const [a, b] = produced.body.offsets;
  assert.equal(a.partition, b.partition);
  assert.deepEqual([a.offset, b.offset], [0, 1]);
  const p = a.partition;
  const read = (await (await fetch(`${basket.url}/topics/orders/partitions/${p}/records?offset=0`)).json()) as any;
  assert.deepEqual(read.map((r: any) => r.value), [{ item: 'egg', qty: 12 }, { item: 'milk', qty: 1 }]);
  const offsets = (await (await fetch(`${basket.url}/topics/orders/partitions/${p}/offsets`)).json()) as any;
  assert.equal(offsets.end_offset, 2);

  assert.equal(await basket.stop(), 0, `clean exit\n${basket.output()}`);
  assert.ok(existsSync(join(dataDir, 'meta')), 'metadata log on disk');
  const logs = readdirSync(join(dataDir, `orders-${p}`)).filter((f) => f.endsWith('.log'));
  assert.deepEqual(logs, ['00000000000000000000.log']);
  const bytes = readFileSync(join(dataDir, `orders-${p}`, logs[0] as string));
  assert.equal(bytes[16], 2, 'magic byte of a v2 record batch');

  basket = await startBasket({ BASKET_DATA_DIR: dataDir });
  const again = (await (await fetch(`${basket.url}/topics/orders/partitions/${p}/records?offset=0`)).json()) as any;
  assert.deepEqual(again.map((r: any) => r.offset), [0, 1]);
  const topic = (await (await fetch(`${basket.url}/topics/orders`)).json()) as any;
  assert.equal(topic.configs['retention.ms'], '86400000');
  assert.equal(topic.partitions.length, 3);
});

test('a bad setting stops start-up with a message naming it', async () => {
  await assert.rejects(startBasket({ BASKET_ENGINE: 'nope' }, 5000), /BASKET_ENGINE/);
});

test('SIGTERM: a waiting long-poll answers at once, in-flight produces finish, the exit is clean', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-e2e-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const basket = await startBasket({ BASKET_DATA_DIR: dataDir, BASKET_SHUTDOWN_GRACE_MS: '20000' });
  t.after(() => basket.kill());
  assert.equal((await postJson(`${basket.url}/topics/quiet`, { records: [{ value: 1 }] })).status, 200);
  const started = Date.now();
  const waiting = fetch(`${basket.url}/topics/quiet/partitions/0/records?offset=1&timeout=30000`);
  // the read is parked in the server once a produce behind it on another connection has answered
  assert.equal((await postJson(`${basket.url}/topics/other`, { records: [{ value: 1 }] })).status, 200);
  const stopping = basket.stop();
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), []);
  assert.ok(Date.now() - started < 15000, 'answered well before its 30 s timeout');
  assert.equal(await stopping, 0, basket.output());
  assert.ok(existsSync(join(dataDir, '.basket_cleanshutdown')), 'clean-shutdown marker written');
});
