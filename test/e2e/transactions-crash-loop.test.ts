import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBasket, type BasketProcess } from './process';

/**
 * Consume-transform-produce across kill -9: a processor reads `in` from its group's committed
 * offset, writes one `out` record per input in a transaction with the input offsets, and commits;
 * the real process is killed at a random moment in each of 20 cycles and restarted. At the end a
 * read_committed consumer of `out` sees every input exactly once, in order: a transaction cut by
 * the kill either committed (records and offsets together, completed at restart) or left nothing.
 */
const CYCLES = 20;
const INPUTS = 240;
const PER_TRANSACTION = 3;
const GROUP = 'ctp';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';

class Gone extends Error {}

async function call(basket: BasketProcess, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(`${basket.url}${path}`, {
      method,
      headers: body === undefined ? { accept: JSON_V2 } : { 'content-type': contentType, accept: JSON_V2 },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    throw new Gone();
  }
}

async function committedOffset(basket: BasketProcess): Promise<number> {
  const g = await call(basket, 'GET', `/consumer-groups/${GROUP}`);
  if (g.status === 404) return 0;
  assert.equal(g.status, 200, JSON.stringify(g.body));
  const p = (g.body.partitions as Array<{ topic: string; committed_offset: number }>).find((x) => x.topic === 'in');
  return p === undefined || p.committed_offset < 0 ? 0 : p.committed_offset;
}

/** One transaction of the processor; false when every input is done. Throws Gone when the process dies under it. */
async function processOnce(basket: BasketProcess): Promise<boolean> {
  const position = await committedOffset(basket);
  if (position >= INPUTS) return false;
  const read = await call(basket, 'GET', `/topics/in/partitions/0/records?offset=${position}`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  const inputs = (read.body as Array<{ value: string; offset: number }>).slice(0, PER_TRANSACTION);
  assert.ok(inputs.length > 0, `inputs below ${INPUTS} are readable from ${position}`);
  const begun = await call(basket, 'POST', '/transactions', { transactional_id: 'ctp-worker', timeout_ms: 30_000 });
  if (begun.status === 503) throw new Gone();
  assert.equal(begun.status, 201, JSON.stringify(begun.body));
  const id = begun.body.transaction_id as string;
  const step = async (path: string, body?: unknown): Promise<void> => {
    const res = await call(basket, 'POST', `/transactions/${id}/${path}`, body, body === undefined ? 'application/json' : JSON_V2);
    if (res.status === 503) throw new Gone();
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  };
  await step('records', { records: inputs.map((r) => ({ topic: 'out', value: `out:${r.value}` })) });
  await step('offsets', { group_id: GROUP, offsets: [{ topic: 'in', partition: 0, offset: inputs[inputs.length - 1]!.offset + 1 }] });
  await step('commit');
  return true;
}

async function readCommitted(basket: BasketProcess): Promise<string[]> {
  const created = await call(basket, 'POST', '/consumers/verify', { name: 'v', format: 'json', 'auto.offset.reset': 'earliest' }, 'application/vnd.kafka.v2+json');
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const base = new URL(created.body.base_uri as string).pathname;
  assert.equal((await call(basket, 'POST', `${base}/subscription`, { topics: ['out'] }, 'application/vnd.kafka.v2+json')).status, 204);
  const values: string[] = [];
  const deadline = Date.now() + 30_000;
  let emptyAfterAll = 0;
  while (emptyAfterAll < 2 && Date.now() < deadline) {
    const res = await call(basket, 'GET', `${base}/records?timeout=300`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const records = res.body as Array<{ value: string }>;
    for (const r of records) values.push(r.value);
    if (records.length === 0 && values.length >= INPUTS) emptyAfterAll++;
  }
  return values;
}

test(`consume-transform-produce with offsets in the transaction: each input exactly once in the output across ${CYCLES} kill -9 cycles`, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-txn-crashloop-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { BASKET_DATA_DIR: dataDir };
  let basket = await startBasket(env);
  t.after(() => basket.kill());
  const inputs = Array.from({ length: INPUTS }, (_, i) => ({ value: `in-${i}` }));
  for (let i = 0; i < INPUTS; i += 60) {
    assert.equal((await call(basket, 'POST', '/topics/in?acks=all', { records: inputs.slice(i, i + 60) }, JSON_V2)).status, 200);
  }

  let transactions = 0;
  let cut = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    let killed = false;
    const killer = setTimeout(() => {
      killed = true;
      void basket.kill();
    }, 40 + Math.floor(Math.random() * 250));
    try {
      while (!killed && (await processOnce(basket))) transactions++;
    } catch (err) {
      if (!(err instanceof Gone) && !killed) throw err;
      if (err instanceof Gone || killed) cut++;
    }
    clearTimeout(killer);
    await basket.kill();
    basket = await startBasket(env);
  }
  while (await processOnce(basket)) transactions++;

  const out = await readCommitted(basket);
  assert.equal(out.length, INPUTS, `every input once in out (${out.length} records)`);
  assert.deepEqual(out, inputs.map((r) => `out:${r.value}`));
  t.diagnostic(`${transactions} committed transactions answered, ${cut} cycles cut a transaction or a read`);
});
