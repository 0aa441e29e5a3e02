import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, get, post, JSON_V2 } from '../helper';
import type { IsolationLevel, StorageEngine } from '../../src/engine/storage-engine';
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator';
import { TOKENS } from '../../src/tokens';
import { ConsumerClient, eventually } from '../consumer/consumer-client';

/** Values a reader sees in one partition from offset 0, read with one fetch. */
async function values(engine: StorageEngine, topic: string, partition: number, isolationLevel: IsolationLevel): Promise<unknown[]> {
  const res = await engine.fetch({ partitions: [{ topic, partition, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel });
  return res.partitions[0]!.records.map((r) => JSON.parse(r.value!.toString('utf8')));
}

async function lso(engine: StorageEngine, topic: string, partition = 0): Promise<{ hw: number; lso: number }> {
  const d = await engine.describeTopic(topic);
  const p = d.partitions[partition]!;
  return { hw: p.highWatermark, lso: p.lastStableOffset };
}

async function begin(app: FastifyInstance, body: Record<string, unknown> = {}) {
  const res = await post(app, '/transactions', body, 'application/json');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a committed transaction becomes visible to read_committed readers all at once; the last stable offset holds them back until then', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const tx = await begin(app);
  assert.equal(tx.headers.location, `/transactions/${tx.body.transaction_id}`);
  assert.equal(tx.body.state, 'Ongoing');
  assert.ok(tx.body.expires_at > Date.now());
  const id = tx.body.transaction_id as string;

  const w = await post(app, `/transactions/${id}/records`, {
    records: [
      { topic: 'orders', value: { order: 1 } },
      { topic: 'audit', value: { audit: 'order 1' } },
      { topic: 'orders', value: { order: 2 } },
    ],
  });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.deepEqual(w.body.offsets.map((o: { topic: string; offset: number }) => [o.topic, o.offset]), [['orders', 0], ['audit', 0], ['orders', 1]]);

  // Open: uncommitted readers see the records, committed readers nothing, and the LSO stays at the first.
  assert.deepEqual(await values(engine, 'orders', 0, 'read_uncommitted'), [{ order: 1 }, { order: 2 }]);
  assert.deepEqual(await values(engine, 'orders', 0, 'read_committed'), []);
  assert.deepEqual(await values(engine, 'audit', 0, 'read_committed'), []);
  assert.deepEqual(await lso(engine, 'orders'), { hw: 2, lso: 0 });
  const stateless = await get(app, '/topics/orders/partitions/0/records?offset=0', { accept: JSON_V2 });
  assert.equal(stateless.status, 200);
  assert.deepEqual(stateless.body, []);
  assert.equal((await engine.listOffset('orders', 0, 'latest', 'read_committed')).offset, 0);

  const c = await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(c.body.state, 'CompleteCommit');
  assert.deepEqual(c.body.partitions, [{ topic: 'audit', partition: 0 }, { topic: 'orders', partition: 0 }]);
  assert.deepEqual(await values(engine, 'orders', 0, 'read_committed'), [{ order: 1 }, { order: 2 }]);
  assert.deepEqual(await values(engine, 'audit', 0, 'read_committed'), [{ audit: 'order 1' }]);
  // The marker takes an offset; the LSO is past it.
  assert.deepEqual(await lso(engine, 'orders'), { hw: 3, lso: 3 });
  assert.equal((await get(app, `/transactions/${id}`)).body.state, 'CompleteCommit');
});

test('an aborted transaction is never visible to read_committed readers, also between committed ones', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const run = async (value: string, commit: boolean) => {
    const id = (await begin(app, { transactional_id: 'writer' })).body.transaction_id as string;
    assert.equal((await post(app, `/transactions/${id}/records`, { records: [{ topic: 't', value }, { topic: 'u', value }] })).status, 200);
    const end = commit ? (await post(app, `/transactions/${id}/commit`, undefined, 'application/json')).status : (await app.inject({ method: 'DELETE', url: `/transactions/${id}` })).statusCode;
    assert.equal(end, 200);
  };
  await run('a', true);
  await run('b', false);
  await run('c', true);
  await run('d', false);
  assert.deepEqual(await values(engine, 't', 0, 'read_committed'), ['a', 'c']);
  assert.deepEqual(await values(engine, 'u', 0, 'read_committed'), ['a', 'c']);
  assert.deepEqual(await values(engine, 't', 0, 'read_uncommitted'), ['a', 'b', 'c', 'd']);
  const { hw, lso: stable } = await lso(engine, 't');
  assert.equal(stable, hw);
  // A read_committed read from an aborted offset moves on past it instead of returning it.
  const res = await engine.fetch({ partitions: [{ topic: 't', partition: 0, offset: 2 }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
  assert.deepEqual(res.partitions[0]!.records.map((r) => r.value!.toString()), ['"c"']);
});

test('closed transactions refuse more steps: records after commit, commit twice, commit after abort; a keyed retry gets the first answer', async (t) => {
  const { app } = await buildTestApp(t);
  const id = (await begin(app)).body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${id}/records`, { records: [{ topic: 'x', value: 1 }] })).status, 200);
  const first = await post(app, `/transactions/${id}/commit`, undefined, 'application/json', { 'idempotency-key': 'c-1' });
  assert.equal(first.status, 200);
  const again = await post(app, `/transactions/${id}/commit`, undefined, 'application/json', { 'idempotency-key': 'c-1' });
  assert.equal(again.status, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(again.body.state, 'CompleteCommit');
  const twice = await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error_code, 40905);
  const late = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'x', value: 2 }] });
  assert.equal(late.status, 409);
  assert.equal(late.body.error_code, 40905);
  const abortAfter = await post(app, `/transactions/${id}/abort`, undefined, 'application/json');
  assert.equal(abortAfter.body.error_code, 40905);

  const aborted = (await begin(app)).body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${aborted}/abort`, undefined, 'application/json')).status, 200);
  const commitAfterAbort = await post(app, `/transactions/${aborted}/commit`, undefined, 'application/json');
  assert.equal(commitAfterAbort.body.error_code, 40905);

  const unknown = await post(app, '/transactions/0123456789abcdef01234567/records', { records: [{ topic: 'x', value: 1 }] });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_code, 40407);
  assert.equal((await get(app, '/transactions/nope')).body.error_code, 40407);
  // No body: a transaction with the defaults.
  const empty = await app.inject({ method: 'POST', url: '/transactions', headers: { 'content-type': 'application/json' } });
  assert.equal(empty.statusCode, 201, empty.body);
  assert.equal(JSON.parse(empty.body).timeout_ms, 60_000);
  const badTimeout = await post(app, '/transactions', { timeout_ms: 900_001 }, 'application/json');
  assert.equal(badTimeout.body.error_code, 40002);
});

test('keyed records steps append once', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const id = (await begin(app)).body.transaction_id as string;
  const body = { records: [{ topic: 'k', value: 'once' }] };
  const a = await post(app, `/transactions/${id}/records`, body, JSON_V2, { 'idempotency-key': 'r-1' });
  const b = await post(app, `/transactions/${id}/records`, body, JSON_V2, { 'idempotency-key': 'r-1' });
  assert.deepEqual(b.body, a.body);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  const other = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'k', value: 'other' }] }, JSON_V2, { 'idempotency-key': 'r-1' });
  assert.equal(other.body.error_code, 42209);
  await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  assert.deepEqual(await values(engine, 'k', 0, 'read_committed'), ['once']);
});

test('a new session for the same transactional id fences the open one: its writes are refused and it is aborted', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const old = await begin(app, { transactional_id: 'payments' });
  const oldId = old.body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${oldId}/records`, { records: [{ topic: 'p', value: 'old' }] })).status, 200);
  const fresh = await begin(app, { transactional_id: 'payments' });
  assert.equal(fresh.body.producer_id, old.body.producer_id);
  assert.ok(fresh.body.producer_epoch > old.body.producer_epoch);
  const late = await post(app, `/transactions/${oldId}/records`, { records: [{ topic: 'p', value: 'late' }] });
  assert.equal(late.status, 409);
  assert.equal(late.body.error_code, 40906);
  assert.equal((await post(app, `/transactions/${oldId}/commit`, undefined, 'application/json')).body.error_code, 40906);
  const oldView = await get(app, `/transactions/${oldId}`);
  assert.equal(oldView.body.state, 'CompleteAbort');
  assert.equal(oldView.body.abort_reason, 'fenced');
  const freshId = fresh.body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${freshId}/records`, { records: [{ topic: 'p', value: 'new' }] })).status, 200);
  assert.equal((await post(app, `/transactions/${freshId}/commit`, undefined, 'application/json')).status, 200);
  assert.deepEqual(await values(engine, 'p', 0, 'read_committed'), ['new']);
});

test('a transaction open past its timeout is aborted: the partition is released and later steps get 40907', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const id = (await begin(app, { timeout_ms: 150 })).body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${id}/records`, { records: [{ topic: 'slow', value: 'never' }] })).status, 200);
  assert.deepEqual(await lso(engine, 'slow'), { hw: 1, lso: 0 });
  await waitFor('the timeout abort', async () => (await get(app, `/transactions/${id}`)).body.state === 'CompleteAbort');
  assert.equal((await get(app, `/transactions/${id}`)).body.abort_reason, 'timeout');
  const late = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'slow', value: 'late' }] });
  assert.equal(late.status, 409);
  assert.equal(late.body.error_code, 40907);
  assert.equal((await post(app, `/transactions/${id}/commit`, undefined, 'application/json')).body.error_code, 40907);
  const { hw, lso: stable } = await lso(engine, 'slow');
  assert.equal(stable, hw);
  assert.deepEqual(await values(engine, 'slow', 0, 'read_committed'), []);
});

test('a waiting read_committed fetch is released by the commit, not before', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const id = (await begin(app)).body.transaction_id as string;
  await post(app, `/transactions/${id}/records`, { records: [{ topic: 'w', value: 'v' }] });
  let settled = false;
  const waiting = engine
    .fetch({ partitions: [{ topic: 'w', partition: 0, offset: 0 }], maxBytes: 1 << 20, maxWaitMs: 10_000, isolationLevel: 'read_committed' })
    .finally(() => (settled = true));
  // More uncommitted data does not release it either.
  await post(app, `/transactions/${id}/records`, { records: [{ topic: 'w', value: 'v2' }] });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  const res = await waiting;
  assert.deepEqual(res.partitions[0]!.records.map((r) => r.value!.toString()), ['"v"', '"v2"']);
});

test('the one-shot form commits records for several topics atomically; a keyed retry gets the same offsets and writes nothing', async (t) => {
  const { app, engine } = await buildTestApp(t);
  const body = { records: [{ topic: 'order', key: 'o-9', value: { id: 9 } }, { topic: 'order-audit', value: { created: 9 } }] };
  const a = await post(app, '/transactions', body, JSON_V2, { 'idempotency-key': 'one-9' });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.transaction.state, 'CompleteCommit');
  assert.deepEqual(a.body.offsets, [{ topic: 'order', partition: 0, offset: 0 }, { topic: 'order-audit', partition: 0, offset: 0 }]);
  const b = await post(app, '/transactions', body, JSON_V2, { 'idempotency-key': 'one-9' });
  assert.equal(b.status, 200);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  assert.deepEqual(b.body.offsets, a.body.offsets);
  assert.deepEqual(await values(engine, 'order', 0, 'read_committed'), [{ id: 9 }]);
  assert.deepEqual(await values(engine, 'order-audit', 0, 'read_committed'), [{ created: 9 }]);
  // A record that cannot be written refuses the whole request: nothing of it is visible.
  const bad = await post(app, '/transactions', { records: [{ topic: 'order', value: 1 }, { topic: '__consumer_offsets', value: 2 }] }, JSON_V2);
  assert.equal(bad.status, 400);
  assert.deepEqual(await values(engine, 'order', 0, 'read_committed'), [{ id: 9 }]);
});

test('offsets sent in a transaction are committed with it, and only then; a stale generation is refused', async (t) => {
  const { app, container } = await buildTestApp(t);
  const groups = container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator);
  const committed = async () => (await groups.fetchOffsets('g', [{ topic: 'in', partition: 0 }]))[0]!.offset;

  const id = (await begin(app)).body.transaction_id as string;
  await post(app, `/transactions/${id}/records`, { records: [{ topic: 'out', value: 'result' }] });
  const o = await post(app, `/transactions/${id}/offsets`, { group_id: 'g', offsets: [{ topic: 'in', partition: 0, offset: 5 }] }, 'application/json');
  assert.equal(o.status, 200, JSON.stringify(o.body));
  assert.equal(await committed(), -1);
  await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  assert.equal(await committed(), 5);

  const aborted = (await begin(app)).body.transaction_id as string;
  await post(app, `/transactions/${aborted}/offsets`, { group_id: 'g', offsets: [{ topic: 'in', partition: 0, offset: 9 }] }, 'application/json');
  await post(app, `/transactions/${aborted}/abort`, undefined, 'application/json');
  assert.equal(await committed(), 5);

  // A group with an active member: offsets from outside it, or from another generation, are refused.
  const join = await groups.joinGroup({
    groupId: 'g',
    memberId: '',
    clientId: 'c',
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 1000,
    protocols: [{ name: 'range', subscription: { topics: ['in'] } }],
    listener: { onRebalance: () => undefined },
  });
  const tx = (await begin(app)).body.transaction_id as string;
  const outsider = await post(app, `/transactions/${tx}/offsets`, { group_id: 'g', offsets: [{ topic: 'in', partition: 0, offset: 7 }] }, 'application/json');
  assert.equal(outsider.status, 409);
  assert.equal(outsider.body.error_code, 40908);
  const stale = await post(
    app,
    `/transactions/${tx}/offsets`,
    { group_id: 'g', member_id: join.memberId, generation_id: join.generationId + 1, offsets: [{ topic: 'in', partition: 0, offset: 7 }] },
    'application/json',
  );
  assert.equal(stale.body.error_code, 40908);
  await groups.leaveGroup('g', join.memberId);
});

test('consumer instances read committed by default: an open transaction holds them at its first offset, its commit lets them on', async (t) => {
  const { app } = await buildTestApp(t);
  assert.equal((await post(app, '/topics/feed', { records: [{ value: 'plain-0' }] })).status, 200);
  const consumer = await ConsumerClient.create(app, 'readers', 'r1', { 'auto.offset.reset': 'earliest' });
  const uncommitted = await ConsumerClient.create(app, 'dirty-readers', 'r2', { 'auto.offset.reset': 'earliest', 'isolation.level': 'read_uncommitted' });
  await consumer.subscribe(['feed']);
  await uncommitted.subscribe(['feed']);
  const id = (await begin(app)).body.transaction_id as string;
  await post(app, `/transactions/${id}/records`, { records: [{ topic: 'feed', value: 'txn-1' }] });
  assert.equal((await post(app, '/topics/feed', { records: [{ value: 'plain-after' }] })).status, 200);

  const seen: unknown[] = [];
  await eventually('the committed reader gets the record before the transaction', async () => {
    seen.push(...(await consumer.poll(100)).map((r) => r.value));
    return seen.length >= 1;
  });
  // Held at the open transaction's first offset: the plain record written after it waits too.
  seen.push(...(await consumer.poll(200)).map((r) => r.value));
  assert.deepEqual(seen.slice(), ['plain-0']);
  const dirty: unknown[] = [];
  await eventually('the uncommitted reader gets everything', async () => {
    dirty.push(...(await uncommitted.poll(100)).map((r) => r.value));
    return dirty.length >= 3;
  });
  assert.deepEqual(dirty.slice(), ['plain-0', 'txn-1', 'plain-after']);

  await post(app, `/transactions/${id}/commit`, undefined, 'application/json');
  await eventually('the committed reader passes the committed transaction', async () => {
    seen.push(...(await consumer.poll(100)).map((r) => r.value));
    return seen.length >= 3;
  });
  assert.deepEqual(seen, ['plain-0', 'txn-1', 'plain-after']);
  await consumer.delete();
  await uncommitted.delete();
});

test('a records step the engine refuses after others of it may have landed aborts the transaction: nothing of it is ever visible', async (t) => {
  const { app, engine } = await buildTestApp(t);
  await engine.createTopic({ name: 'small', partitions: 1, configs: { 'max.message.bytes': '200' } });
  const id = (await begin(app)).body.transaction_id as string;
  assert.equal((await post(app, `/transactions/${id}/records`, { records: [{ topic: 'big', value: 'first step' }] })).status, 200);
  const refused = await post(app, `/transactions/${id}/records`, { records: [{ topic: 'big', value: 'second step' }, { topic: 'small', value: 'x'.repeat(500) }] });
  assert.equal(refused.status, 413, JSON.stringify(refused.body));
  const view = (await get(app, `/transactions/${id}`)).body;
  assert.equal(view.state, 'CompleteAbort');
  assert.equal((await post(app, `/transactions/${id}/commit`, undefined, 'application/json')).body.error_code, 40905);
  assert.deepEqual(await values(engine, 'big', 0, 'read_committed'), []);
  assert.deepEqual(await lso(engine, 'big').then((o) => o.lso === o.hw), true);
});
