import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApp, post, get, JSON_V2 } from '../helper';

const ASYNC = { prefer: 'respond-async' };

test('Prefer: respond-async answers 202 with a receipt; GET with Prefer: wait gives the offsets', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await post(app, '/topics/later', { records: [{ value: 'a' }, { value: 'b' }] }, JSON_V2, ASYNC);
  assert.equal(res.status, 202);
  assert.equal(res.headers.location, `/receipts/${res.body.receipt_id}`);
  assert.equal(res.headers['preference-applied'], 'respond-async');
  assert.equal(res.body.status, 'pending');
  const receipt = await get(app, res.headers.location as string, { prefer: 'wait=5' });
  assert.equal(receipt.status, 200);
  assert.equal(receipt.body.status, 'succeeded');
  assert.deepEqual(receipt.body.offsets.map((o: any) => [o.partition, o.offset]), [[0, 0], [0, 1]]);
  assert.equal(receipt.body.error_code, null);
  const read = await get(app, '/topics/later/partitions/0/records?offset=0');
  assert.deepEqual(read.body.map((r: any) => r.value), ['a', 'b']);
  const viaQuery = await post(app, '/topics/later?async=true', { records: [{ value: 'c' }] });
  assert.equal(viaQuery.status, 202);
  const done = await get(app, viaQuery.headers.location as string, { prefer: 'wait=5' });
  assert.equal(done.body.offsets[0].offset, 2);
});

test('async produce keeps per-partition order equal to the order requests were answered 202', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_NUM_PARTITIONS: '2' });
  const receipts: string[] = [];
  for (let i = 0; i < 60; i++) {
    const res = await post(app, '/topics/ordered', { records: [{ key: `k${i % 3}`, value: i }] }, JSON_V2, ASYNC);
    assert.equal(res.status, 202);
    receipts.push(res.headers.location as string);
  }
  const lastOffset = new Map<number, number>();
  for (const location of receipts) {
    const r = await get(app, location, { prefer: 'wait=5' });
    assert.equal(r.body.status, 'succeeded');
    const { partition, offset } = r.body.offsets[0];
    assert.ok(offset > (lastOffset.get(partition) ?? -1), `offsets grow in send order on partition ${partition}`);
    lastOffset.set(partition, offset);
  }
});

test('a failed async produce shows in its receipt with the error the sync request would have had', async (t) => {
  const { app } = await buildTestApp(t);
  assert.equal((await post(app, '/topics', { name: 'small', configs: { 'max.message.bytes': '200' } }, 'application/json')).status, 201);
  const res = await post(app, '/topics/small', { records: [{ value: 'x'.repeat(500) }] }, JSON_V2, ASYNC);
  assert.equal(res.status, 202);
  const receipt = await get(app, res.headers.location as string, { prefer: 'wait=5' });
  assert.equal(receipt.body.status, 'failed');
  assert.equal(receipt.body.error_code, 41302);
  assert.equal(receipt.body.offsets, null);
  const invalid = await post(app, '/topics/small', { records: [] }, JSON_V2, ASYNC);
  assert.equal(invalid.status, 400, 'validation happens before the 202');
});

test('unknown receipts are 404 40406; finished ones expire after BASKET_RECEIPT_TTL_MS; the count is bounded', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_RECEIPT_TTL_MS: '100', BASKET_MAX_RECEIPTS: '2' });
  const missing = await get(app, '/receipts/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error_code, 40406);
  const locations: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await post(app, '/topics/expiring', { records: [{ value: i }] }, JSON_V2, ASYNC);
    locations.push(res.headers.location as string);
    assert.equal((await get(app, locations[i], { prefer: 'wait=5' })).body.status, 'succeeded');
  }
  assert.equal((await get(app, locations[0])).status, 404, 'the oldest finished receipt made room for the third');
  const deadline = Date.now() + 5000;
  while ((await get(app, locations[2])).status === 200) {
    assert.ok(Date.now() < deadline, 'the receipt expires');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await get(app, locations[2])).body.error_code, 40406);
});

test('a keyed async request: its repeat gets the same 202 and receipt, which survives a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-receipts-'));
  const first = await buildTestApp(t, { BASKET_DATA_DIR: dataDir });
  const body = { records: [{ value: 'order-9' }] };
  const res = await post(first.app, '/topics/keyed', body, JSON_V2, { ...ASYNC, 'idempotency-key': 'async-1' });
  assert.equal(res.status, 202);
  const repeat = await post(first.app, '/topics/keyed', body, JSON_V2, { 'idempotency-key': 'async-1' });
  assert.equal(repeat.status, 202, 'answered as the first request was');
  assert.equal(repeat.headers.location, res.headers.location);
  const before = await get(first.app, res.headers.location as string, { prefer: 'wait=5' });
  assert.equal(before.body.status, 'succeeded');
  await first.app.close();
  await first.engine.close();

  const second = await buildTestApp(t, { BASKET_DATA_DIR: dataDir });
  t.after(() => rmSync(dataDir, { recursive: true, force: true })); // after both apps' own close hooks
  const after = await get(second.app, res.headers.location as string);
  assert.equal(after.status, 200);
  assert.deepEqual(after.body.offsets, before.body.offsets);
  const read = await get(second.app, '/topics/keyed/partitions/0/records?offset=0');
  assert.deepEqual(read.body.map((r: any) => r.value), ['order-9']);
});
