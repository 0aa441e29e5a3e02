import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { IdempotencyKeyStore, keyedReceiptId } from '../../src/produce/idempotency/idempotency-key-store';
import type { IntentRecord } from '../../src/produce/idempotency/idempotency-records';
import { ManualClock, tempDir } from '../engine/embedded/helpers';

const silent = pino({ level: 'silent' });
const TTL = 60_000;

function intent(createdAt: number, async = false): IntentRecord {
  return { type: 'intent', v: 0, fingerprint: 'f', createdAt, async, topic: 't', producerId: 1, producerEpoch: 0, assignment: [0, 1], sequences: [0, 0] };
}

test('key store: keys are forgotten after the window, in memory and on replay; a released key is free', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const old = store.begin('old', 'f', false);
  await store.writeIntent(old, intent(old.createdAt));
  old.outcomeRuns = [0, 5, 1, 7];
  await store.writeCompleted(old, 1);
  clock.advance(TTL / 2);
  const young = store.begin('young', 'f', true);
  await store.writeIntent(young, intent(young.createdAt, true));
  await store.sync();
  const gone = store.begin('gone', 'f', false);
  await store.writeIntent(gone, intent(gone.createdAt));
  await store.writeReleased(gone, 1);
  assert.equal(store.get('gone'), undefined);
  await store.close();

  clock.advance(TTL / 2 + 1);
  store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  assert.equal(store.get('old'), undefined, 'past the window when the journal is replayed');
  assert.equal(store.get('gone'), undefined, 'released');
  const replayed = store.get('young');
  assert.ok(replayed !== undefined);
  assert.deepEqual(replayed.intent, intent(young.createdAt, true));
  assert.equal(replayed.outcomeRuns, undefined, 'pending: an intent without an outcome');
  assert.equal(store.byReceiptId(keyedReceiptId('young')), replayed, 'an async key is found by its receipt id');
  clock.advance(TTL / 2);
  assert.equal(store.get('young'), undefined, 'past the window in memory');
  await store.close();
});

test('key store: past maxKeys the oldest keys not in flight are forgotten first', async (t) => {
  const clock = new ManualClock();
  const store = new IdempotencyKeyStore(tempDir(t), { ttlMs: TTL, maxKeys: 3, now: clock.now }, silent);
  store.start();
  const running = store.begin('k0', 'f', false);
  running.inFlight = new Promise(() => undefined);
  for (let i = 1; i <= 4; i++) store.begin(`k${i}`, 'f', false);
  assert.equal(store.size, 3);
  assert.ok(store.get('k0') !== undefined, 'a running request keeps its key');
  assert.equal(store.get('k1'), undefined);
  assert.equal(store.get('k2'), undefined);
  assert.ok(store.get('k4') !== undefined);
  await store.close();
});

test('key store: outcomes and releases with no intent after them are still written and, for acks=all, fsynced', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  const kept = store.begin('kept', 'f', false);
  const freed = store.begin('freed', 'f', false);
  await store.writeIntent(kept, intent(kept.createdAt));
  await store.writeIntent(freed, intent(freed.createdAt));
  kept.outcomeRuns = [0, 3, 1, 9];
  // nothing else is written after these: they must not wait for another request's intent
  await Promise.all([store.writeCompleted(kept, -1), store.writeReleased(freed, -1)]);
  await store.close();
  store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100, now: clock.now }, silent);
  store.start();
  assert.deepEqual(store.get('kept')?.outcomeRuns, [0, 3, 1, 9]);
  assert.equal(store.get('freed'), undefined);
  await store.close();
});

test('key store: a key known only by its outcome record gets its producer id back on replay, so another key with that id is not given it', async (t) => {
  const dir = tempDir(t);
  let store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100 }, silent);
  store.start();
  const id = 2 ** 52 + 7;
  const entry = store.begin('first', 'f', false);
  assert.equal(store.claimProducerId(entry, id), true);
  entry.outcomeRuns = [0, 3, 1, 5];
  await new Promise<void>((resolve, reject) => store.writeCompletedNow(entry, (err) => (err === undefined ? resolve() : reject(err))));
  await store.close();

  store = new IdempotencyKeyStore(dir, { ttlMs: TTL, maxKeys: 100 }, silent);
  store.start();
  t.after(() => store.close());
  const replayed = store.get('first');
  assert.equal(replayed?.producerId, id);
  assert.deepEqual(replayed?.outcomeRuns, [0, 3, 1, 5]);
  assert.equal(store.claimProducerId(store.begin('second', 'g', false), id), false, 'the replayed key holds the id');
});

test('key store: a key released and used again is evicted by its new age, not its first one', async (t) => {
  const clock = new ManualClock();
  const store = new IdempotencyKeyStore(tempDir(t), { ttlMs: TTL, maxKeys: 2, now: clock.now }, silent);
  store.start();
  t.after(() => store.close());
  store.drop(store.begin('again', 'f', false));
  clock.advance(1);
  store.begin('old', 'f', false);
  clock.advance(1);
  store.begin('again', 'f', false);
  clock.advance(1);
  store.begin('new', 'f', false);
  assert.equal(store.get('old'), undefined, 'the oldest key goes first');
  assert.ok(store.get('again') !== undefined);
  assert.ok(store.get('new') !== undefined);
});
