import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, postJson, startBasket, type BasketProcess } from '../e2e/process';
import { DEPLOY } from './deploy-files';

/**
 * deploy/haproxy/haproxy.cfg, run for real in front of three real Basket processes. Some state
 * lives in one process (consumer instances, receipts of async produce requests, Idempotency-Key
 * entries), and the balancer must bring every request that depends on it back to that process.
 * The config is used as written except for addresses (compose's service names and DNS become
 * 127.0.0.1 ports). The replicas run the embedded engine, each with its own data directory:
 * that is where consumer instances are served today, and separate stores make a request that
 * reached the wrong replica visible. What is tested is the routing, not the engine.
 */
const haproxyAvailable = spawnSync('haproxy', ['-v']).status === 0;

function localConfig(lbPort: number, replicas: BasketProcess[]): string {
  let text = readFileSync(join(DEPLOY, 'haproxy', 'haproxy.cfg'), 'utf8');
  const replace = (from: RegExp, to: string) => {
    assert.match(text, from, `haproxy.cfg still has ${from}`);
    text = text.replace(from, to);
  };
  replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${lbPort}`);
  replace(/ resolvers docker /g, ' ');
  replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, '');
  replicas.forEach((r, i) => replace(new RegExp(`basket-${i + 1}:8080`, 'g'), `127.0.0.1:${r.port}`));
  return text;
}

async function waitFor(url: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Balancer {
  url: string;
  replicas: BasketProcess[];
}

/** Three Basket processes and haproxy with deploy's config in front; all stopped after `t`. */
async function startBalancer(t: TestContext): Promise<Balancer> {
  const dirs: string[] = [];
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), 'basket-lb-')));
  const started = await Promise.allSettled(dirs.map((dir) => startBasket({ BASKET_ENGINE: 'embedded', BASKET_DATA_DIR: dir })));
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  t.after(() => Promise.all(replicas.map((r) => r.kill())));
  for (const s of started) if (s.status === 'rejected') throw s.reason;

  const lbPort = await freePort();
  const config = join(dirs[0]!, 'haproxy.cfg');
  writeFileSync(config, localConfig(lbPort, replicas));
  const lb = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let lbLog = '';
  lb.stderr.on('data', (d: Buffer) => (lbLog += d.toString()));
  t.after(async () => {
    if (lb.exitCode === null) {
      const exited = once(lb, 'exit');
      lb.kill('SIGTERM');
      await exited;
    }
  });
  const url = `http://127.0.0.1:${lbPort}`;
  await waitFor(`${url}/actuator/health/readiness`, 10_000).catch((err: Error) => assert.fail(`${err.message}\n${lbLog}`));
  return { url, replicas };
}

test('haproxy.cfg pins what one replica holds to that replica', { skip: haproxyAvailable ? false : 'haproxy is not installed (Debian: apt-get install -y haproxy)' }, async (t) => {
  const { url: lbUrl, replicas } = await startBalancer(t);

  await t.test('consumer instances: creation and every request to base_uri reach one replica', async () => {
    const owners = new Set<number>();
    for (let g = 0; g < 12; g++) {
      const group = `orders-readers-${g}`;
      const created = await postJson(`${lbUrl}/consumers/${group}`, { name: 'reader', format: 'json' });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.base_uri, `${lbUrl}/consumers/${group}/instances/reader`, 'base_uri names the balancer');

      // The instance exists on exactly one replica...
      const direct = await Promise.all(replicas.map((r) => fetch(`${r.url}/consumers/${group}/instances/reader/subscription`)));
      const holders = direct.flatMap((res, i) => (res.status === 200 ? [i] : []));
      assert.equal(holders.length, 1, `${group} is held by one replica, got ${holders}`);
      for (const res of direct) if (res.status !== 200) assert.equal(((await res.json()) as any).error_code, 40403);
      owners.add(holders[0]!);

      // ...and every request through the balancer reaches it.
      const subscribed = await postJson(`${created.body.base_uri}/subscription`, { topics: ['orders'] });
      assert.equal(subscribed.status, 204, JSON.stringify(subscribed.body));
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${created.body.base_uri}/subscription`);
        assert.equal(res.status, 200);
        assert.deepEqual(((await res.json()) as any).topics, ['orders']);
      }
      const deleted = await fetch(created.body.base_uri, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
    }
    assert.ok(owners.size >= 2, `groups are spread over the replicas (held by ${[...owners]})`);
  });

  await t.test('async produce: the receipt is found where the request was accepted', async () => {
    for (let i = 0; i < 6; i++) {
      const accepted = await fetch(`${lbUrl}/topics/receipted`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json', prefer: 'respond-async' },
        body: JSON.stringify({ records: [{ value: { i } }] }),
      });
      assert.equal(accepted.status, 202, await accepted.text());
      const receipt = await fetch(`${lbUrl}${accepted.headers.get('location')}`, { headers: { prefer: 'wait=5' } });
      const body = (await receipt.json()) as any;
      assert.equal(receipt.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'succeeded');
    }
  });

  await t.test('Idempotency-Key: retries meet the first attempt, so the record is appended once', async () => {
    const topic = 'keyed';
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${lbUrl}/topics/${topic}/partitions/0`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json', 'idempotency-key': 'order-42-attempt' },
        body: JSON.stringify({ records: [{ value: { order: 42 } }] }),
      });
      assert.equal(res.status, 200);
      answers.push(((await res.json()) as any).offsets);
    }
    for (const a of answers) assert.deepEqual(a, answers[0]);
    let appended = 0;
    for (const r of replicas) {
      const res = await fetch(`${r.url}/topics/${topic}/partitions/0/offsets`);
      if (res.status === 200) appended += ((await res.json()) as any).end_offset;
    }
    assert.equal(appended, 1, 'one record across all replicas');
  });
});
