import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALLER_PRODUCER_ID_BASE } from '../../src/engine/storage-engine';
import { isKeyedProducerId, keyDigest, keyedProducerId } from '../../src/produce/idempotency/keyed-producer-id';
import { keyedReceiptId } from '../../src/produce/idempotency/idempotency-key-store';
import { ProducerStateManager, type BatchMetadata } from '../../src/engine/embedded/producer-state-manager';
import { PRODUCER_ID_BLOCK_FILE, ProducerIdManager } from '../../src/engine/embedded/producer-id-manager';
import { ProducerIdIndex } from '../../src/engine/producer-id-index';
import { tempDir } from '../engine/embedded/helpers';

test('a key\'s producer id: 2^52 plus the first 52 bits of SHA-256 of the key, a safe integer, the same for the same key', () => {
  for (const key of ['a', 'order-1', 'x'.repeat(255), ' ~']) {
    const id = keyedProducerId(key);
    const digest = createHash('sha256').update(key).digest();
    const bits = BigInt(`0x${digest.subarray(0, 7).toString('hex')}`) >> 4n;
    assert.equal(BigInt(id), BigInt(CALLER_PRODUCER_ID_BASE) + bits, key);
    assert.ok(Number.isSafeInteger(id) && isKeyedProducerId(id), key);
    assert.equal(keyedProducerId(key), id);
  }
  const ids = new Set(Array.from({ length: 10_000 }, (_, i) => keyedProducerId(`key-${i}`)));
  assert.equal(ids.size, 10_000);
  assert.equal(isKeyedProducerId(CALLER_PRODUCER_ID_BASE - 1), false);
});

test('a key\'s producer id and receipt id come from one SHA-256 of it: handed the digest, each gives what it gives from the key', () => {
  for (const key of ['a', 'order-1', 'x'.repeat(255)]) {
    const digest = keyDigest(key);
    assert.equal(digest, createHash('sha256').update(key, 'utf8').digest('binary'), key);
    const hex = createHash('sha256').update(key, 'utf8').digest('hex');
    assert.equal(keyedReceiptId(key), `k${hex.slice(0, 32)}`, 'receipt ids are what earlier versions handed out: the first 32 hex digits');
    assert.equal(keyedProducerId(key, digest), keyedProducerId(key));
    assert.equal(keyedReceiptId(key, digest), keyedReceiptId(key));
  }
});

function batch(offset: number): BatchMetadata {
  return { firstSeq: 0, lastSeq: 0, firstOffset: offset, lastOffset: offset, timestamp: 0 };
}

test('producer state: callers\' producers are bounded and expire as new ones come; allocated ids are not touched; a restore keeps them apart', () => {
  const state = new ProducerStateManager('t-0', 1000, 3);
  state.update(7, 0, batch(0), 0);
  for (let i = 1; i <= 5; i++) state.update(CALLER_PRODUCER_ID_BASE + i, 0, batch(i), i);
  assert.equal(state.producerCount, 4, 'three callers and the allocated id');
  assert.equal(state.entry(CALLER_PRODUCER_ID_BASE + 1), undefined, 'the oldest went past the bound');
  assert.equal(state.entry(CALLER_PRODUCER_ID_BASE + 2), undefined);
  assert.equal(state.check(CALLER_PRODUCER_ID_BASE + 5, 0, 0, 1, 0)?.firstOffset, 5, 'a retry of a remembered caller is a duplicate');
  assert.equal(state.check(CALLER_PRODUCER_ID_BASE + 1, 0, 0, 1, 0), undefined, 'a forgotten one may append');
  assert.ok(state.entry(7) !== undefined);

  const restored = new ProducerStateManager('t-0', 1000, 3);
  restored.restore([...state.entries()], 6);
  assert.deepEqual([...restored.entries()].map((e) => e.producerId), [7, CALLER_PRODUCER_ID_BASE + 3, CALLER_PRODUCER_ID_BASE + 4, CALLER_PRODUCER_ID_BASE + 5]);
  // 1,500 ms later: those idle past the expiration go as the next caller comes; id 7 waits for the snapshot's pass.
  restored.update(CALLER_PRODUCER_ID_BASE + 9, 0, batch(6), 1005);
  assert.equal(restored.entry(CALLER_PRODUCER_ID_BASE + 3), undefined);
  assert.ok(restored.entry(CALLER_PRODUCER_ID_BASE + 5) !== undefined, 'idle for 1,000 ms, not more');
  assert.ok(restored.entry(7) !== undefined);
});

test('allocateProducerIds never hands out an id from 2^52 up: they are callers\'', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, PRODUCER_ID_BLOCK_FILE), `${CALLER_PRODUCER_ID_BASE - 10}\n`);
  const ids = new ProducerIdManager(dir);
  await ids.load();
  assert.deepEqual(await ids.allocate(10), { firstProducerId: CALLER_PRODUCER_ID_BASE - 10, count: 10 });
  await assert.rejects(ids.allocate(1), { code: 'KAFKA_STORAGE_ERROR' });
});

test('the producer id index is exact when ids share their low bits', () => {
  const index = new ProducerIdIndex();
  const ids = [0, 1, 2].map((i) => CALLER_PRODUCER_ID_BASE + 5 + i * 2 ** 30);
  ids.forEach((id, i) => index.set(id, i));
  ids.forEach((id, i) => assert.equal(index.get(id), i));
  assert.equal(index.get(CALLER_PRODUCER_ID_BASE + 5 + 3 * 2 ** 30), -1);
  index.delete(ids[0], 0);
  assert.equal(index.get(ids[0]), -1);
  assert.equal(index.get(ids[1]), 1, 'the others are still found');
  index.delete(ids[1], 0);
  assert.equal(index.get(ids[1]), 1, 'an id held with another value stays');
  const later = CALLER_PRODUCER_ID_BASE + 5 + 4 * 2 ** 30;
  index.set(later, 7);
  assert.equal(index.get(later), 7);
  assert.equal(index.get(ids[2]), 2);
  assert.equal(index.size, 3);
});

test('the producer id index agrees with a Map through growth and removals in any order', () => {
  const index = new ProducerIdIndex();
  const model = new Map<number, number>();
  // A fixed generator: the same run every time, ids crowded into few low bits so runs of the table collide.
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const pool = Array.from({ length: 3000 }, (_, i) => CALLER_PRODUCER_ID_BASE + (next() % 64) * 2 ** 32 + (i % 97));
  for (let step = 0; step < 40_000; step++) {
    const id = pool[next() % pool.length];
    const op = next() % 3;
    if (op === 0) {
      index.set(id, step);
      model.set(id, step);
    } else if (op === 1) {
      const value = model.get(id) ?? 0;
      index.delete(id, value);
      model.delete(id);
    } else {
      assert.equal(index.get(id), model.get(id) ?? -1, `step ${step}`);
    }
  }
  assert.equal(index.size, model.size);
  for (const id of pool) assert.equal(index.get(id), model.get(id) ?? -1);
  index.clear();
  assert.equal(index.size, 0);
  assert.equal(index.get(pool[0]), -1);
});

test('producer state: a caller\'s producer past the Idempotency-Key window answers as new, though no other caller came to remove it', () => {
  const state = new ProducerStateManager('t-0', 10_000, 100, 1000);
  state.update(CALLER_PRODUCER_ID_BASE + 1, 0, batch(0), 0);
  state.update(7, 0, batch(1), 0);
  assert.equal(state.check(CALLER_PRODUCER_ID_BASE + 1, 0, 0, 1, 1000)?.firstOffset, 0, 'within the window: a duplicate');
  assert.equal(state.check(CALLER_PRODUCER_ID_BASE + 1, 0, 0, 1, 1001), undefined, 'past it: a new request, appended');
  assert.equal(state.entry(CALLER_PRODUCER_ID_BASE + 1), undefined, 'and forgotten');
  assert.equal(state.check(7, 0, 0, 1, 1001)?.firstOffset, 1, 'allocated ids keep producer.id.expiration.ms');
  state.update(CALLER_PRODUCER_ID_BASE + 2, 0, batch(2), 0);
  assert.equal(state.removeExpired(1001, 10_000), 1, 'the snapshot pass uses the window for callers only');
  assert.ok(state.entry(7) !== undefined);
});
