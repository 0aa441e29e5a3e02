import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { CALLER_PRODUCER_ID_BASE } from '../../src/engine/storage-engine';
import { IdempotencyKeyStore, keyedReceiptId, type KeyEntry } from '../../src/produce/idempotency/idempotency-key-store';
import { keyedProducerId } from '../../src/produce/idempotency/keyed-producer-id';
import type { IntentRecord } from '../../src/produce/idempotency/idempotency-records';
import { ManualClock, tempDir } from '../engine/embedded/helpers';

const silent = pino({ level: 'silent' });
const TTL = 60_000;
const digest = (s: string): string => createHash('sha256').update(s).digest('binary');

function intent(entry: KeyEntry): IntentRecord {
  return { type: 'intent', v: 0, fingerprint: entry.fingerprint, createdAt: entry.createdAt, async: entry.async, topic: 't', producerId: entry.producerId ?? 1, producerEpoch: 0, assignment: [0, 1], sequences: [0, 0] };
}

/** A key run to its outcome, as idempotent-producer.ts does: claimed id, intent, outcome written. */
async function complete(store: IdempotencyKeyStore, key: string, runs: number[], opts: { fingerprint?: string; async?: boolean; producerId?: number } = {}): Promise<KeyEntry> {
  const entry = store.begin(key, opts.fingerprint ?? digest(key), opts.async ?? false);
  if (opts.producerId !== undefined) assert.ok(store.claimProducerId(entry, opts.producerId));
  await store.writeIntent(entry, intent(entry));
  entry.outcomeRuns = runs;
  entry.intent = undefined;
  await store.writeCompleted(entry, 1);
  return entry;
}

function same(actual: KeyEntry | undefined, expected: KeyEntry): void {
  assert.ok(actual !== undefined, `key ${expected.key} is known`);
  const fields = ({ key, fingerprint, createdAt, async, outcomeRuns, producerId }: KeyEntry) => ({ key, fingerprint, createdAt, async, outcomeRuns, producerId });
  assert.deepEqual(fields(actual), fields(expected));
}

test('completed keys: a completed key kept as a slot reads back whole, also after a restart', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const one = await complete(store, 'one', [1, 42, 1, 1_700_000_000_123], { producerId: CALLER_PRODUCER_ID_BASE + 99 });
  const batch = await complete(store, 'batch', [0, 7, 1000, 5], { async: true });
  const two = await complete(store, 'two-runs', [0, 1, 1, 5, 1, 1, 1, 5]);
  const text = await complete(store, 'text', [0, 2, 1, 5], { fingerprint: '{"records":[]}' });
  for (const e of [one, batch, two, text]) same(store.get(e.key), e);
  assert.notEqual(store.get('one'), one, 'a slot: the entry object is gone');
  assert.equal(store.get('two-runs'), two, 'two runs do not fit a slot');
  assert.equal(store.get('text'), text, 'neither does a fingerprint that is not a SHA-256 digest');
  same(store.byReceiptId(keyedReceiptId('batch')), batch);
  await store.close();

  store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  for (const e of [one, batch, two, text]) same(store.get(e.key), e);
  same(store.byReceiptId(keyedReceiptId('batch')), batch);
  await store.close();
});

test('completed keys: a slot holds its producer id against another key until it is forgotten, then the id and the slot are free', async (t) => {
  const clock = new ManualClock();
  const store = new IdempotencyKeyStore(tempDir(t), { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const id = CALLER_PRODUCER_ID_BASE + 2 ** 40 + 3;
  await complete(store, 'first', [0, 1, 1, 1], { producerId: id });
  const rival = store.begin('rival', digest('rival'), false);
  assert.equal(store.claimProducerId(rival, id), false, 'the completed key still holds its id');
  store.drop(rival);
  clock.advance(TTL + 1);
  assert.equal(store.get('first'), undefined, 'past the window');
  const later = await complete(store, 'later', [0, 2, 1, 2], { producerId: id });
  same(store.get('later'), later);
  await store.close();
});

test("a key's own producer id (the id the table finds it by) is refused to any other key while the key is held, as a slot, an object or across a restart", async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const own = keyedProducerId('owner');
  const running = store.begin('owner', digest('owner'), false);
  assert.ok(store.claimProducerId(running, own));
  const rival = store.begin('rival', digest('rival'), false);
  assert.equal(store.claimProducerId(rival, own), false, 'held by a running key');
  store.drop(rival);
  await store.writeIntent(running, intent(running));
  running.outcomeRuns = [0, 1, 1, 1];
  running.intent = undefined;
  await store.writeCompleted(running, 1);
  const again = store.begin('rival', digest('rival'), false);
  assert.equal(store.claimProducerId(again, own), false, 'held by the completed key, kept as a slot');
  store.drop(again);
  await store.close();

  store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const afterRestart = store.begin('rival', digest('rival'), false);
  assert.equal(store.claimProducerId(afterRestart, own), false, 'held after a restart: replay claims it again');
  store.drop(afterRestart);
  clock.advance(TTL + 1);
  store.expire();
  const taker = store.begin('rival', digest('rival'), false);
  assert.ok(store.claimProducerId(taker, own), 'free once the owner is forgotten');
  const third = store.begin('third', digest('third'), false);
  assert.equal(store.claimProducerId(third, own), false, 'now held by the key that took it');
  const ownerAgain = store.begin('owner', digest('owner'), false);
  assert.equal(store.claimProducerId(ownerAgain, own), false, 'even against the key whose id it is');
  store.drop(taker);
  assert.ok(store.claimProducerId(ownerAgain, own), 'and free again once that key goes');
  await store.close();
});

test('completed keys: past maxKeys and past the window the oldest go first, slots and objects alike, and slots are reused', async (t) => {
  const clock = new ManualClock();
  const store = new IdempotencyKeyStore(tempDir(t), { ttlMs: TTL, maxKeys: 3, now: clock.now }, silent);
  store.start();
  const entries: KeyEntry[] = [];
  for (let i = 0; i < 200; i++) {
    // every third key stays an object (two runs): the order is the keys', whatever holds them
    entries.push(await complete(store, `k${i}`, i % 3 === 0 ? [0, i, 1, 1, 1, i, 1, 1] : [0, i, 1, 1], { producerId: CALLER_PRODUCER_ID_BASE + i }));
    clock.advance(1);
    assert.ok(store.size <= 3);
  }
  assert.deepEqual(entries.map((e) => store.get(e.key) !== undefined).flatMap((known, i) => (known ? [i] : [])), [197, 198, 199]);
  for (const e of entries.slice(197)) same(store.get(e.key), e);
  clock.advance(TTL - 2);
  store.expire();
  assert.deepEqual(['k197', 'k198', 'k199'].map((k) => store.get(k) !== undefined), [false, true, true]);
  await store.close();
});
