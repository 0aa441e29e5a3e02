import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchRequest } from '../../../src/engine/storage-engine';
import { rec, recs, startEngine, tempDir } from './helpers';

const HOUR = 3_600_000;

function request(partitions: FetchRequest['partitions'], extra: Partial<FetchRequest> = {}): FetchRequest {
  return { partitions, maxBytes: 1 << 20, maxWaitMs: HOUR, isolationLevel: 'read_committed', ...extra };
}

// The long waits below are an hour: only an append, an abort or an error can end them in time.
test('fetch at the high watermark waits and an append wakes it', { timeout: 20_000 }, async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'wake', partitions: 2 });
  await engine.append('wake', 0, recs(2), { acks: 1 });
  const fetching = engine.fetch(request([{ topic: 'wake', partition: 0, offset: 2 }, { topic: 'wake', partition: 1, offset: 0 }]));
  await engine.append('wake', 1, [rec('hello')], { acks: 1 });
  const response = await fetching;
  const p1 = response.partitions.find((p) => p.partition === 1)!;
  assert.deepEqual(p1.records.map((r) => r.value?.toString()), ['hello']);
  assert.equal(p1.nextOffset, 1);
  assert.equal(p1.highWatermark, 1);
  const p0 = response.partitions.find((p) => p.partition === 0)!;
  assert.deepEqual(p0.records, []);
  assert.equal(p0.nextOffset, 2);
});

test('fetch returns at once when data is there and waits for minBytes otherwise', { timeout: 20_000 }, async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'min' });
  await engine.append('min', 0, recs(1), { acks: 1 });
  const now = await engine.fetch(request([{ topic: 'min', partition: 0, offset: 0 }]));
  assert.equal(now.partitions[0].records.length, 1);

  const fetching = engine.fetch(request([{ topic: 'min', partition: 0, offset: 1 }], { minBytes: 1000 }));
  for (let i = 0; i < 20; i++) await engine.append('min', 0, [rec('y'.repeat(100))], { acks: 1 });
  const response = await fetching;
  const count = response.partitions[0].records.length;
  assert.ok(count >= 5, `returned once ${count} records reached minBytes`);
});

test('fetch times out with nothing', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'quiet' });
  const response = await engine.fetch(request([{ topic: 'quiet', partition: 0, offset: 0 }], { maxWaitMs: 30 }));
  assert.deepEqual(response.partitions[0].records, []);
  assert.equal(response.partitions[0].nextOffset, 0);
  assert.equal(response.partitions[0].error, undefined);
});

test('an abort signal ends the wait', { timeout: 20_000 }, async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'abort' });
  const controller = new AbortController();
  const fetching = engine.fetch(request([{ topic: 'abort', partition: 0, offset: 0 }], { signal: controller.signal }));
  controller.abort();
  const response = await fetching;
  assert.deepEqual(response.partitions[0].records, []);
  const already = await engine.fetch(request([{ topic: 'abort', partition: 0, offset: 0 }], { signal: AbortSignal.abort() }));
  assert.deepEqual(already.partitions[0].records, []);
});

test('a partition error ends the wait at once and does not hide other partitions', { timeout: 20_000 }, async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'ok' });
  await engine.append('ok', 0, recs(2), { acks: 1 });
  const response = await engine.fetch(
    request([
      { topic: 'ok', partition: 0, offset: 2 },
      { topic: 'missing', partition: 0, offset: 0 },
      { topic: 'ok', partition: 0, offset: 7 },
    ]),
  );
  assert.equal(response.partitions[0].error, undefined);
  assert.equal(response.partitions[1].error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(response.partitions[2].error?.code, 'OFFSET_OUT_OF_RANGE');
  assert.equal(response.partitions[2].highWatermark, 2);
});

test('maxBytes: the first batch comes even if larger, later partitions share what is left', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'budget', partitions: 2 });
  await engine.append('budget', 0, [rec('a'.repeat(500))], { acks: 1 });
  await engine.append('budget', 1, [rec('b'.repeat(500))], { acks: 1 });
  const response = await engine.fetch(
    request([{ topic: 'budget', partition: 0, offset: 0 }, { topic: 'budget', partition: 1, offset: 0 }], { maxBytes: 100, maxWaitMs: 0 }),
  );
  assert.equal(response.partitions[0].records.length, 1);
  assert.equal(response.partitions[1].records.length, 0);
  assert.equal(response.partitions[1].nextOffset, 0);
});

test('a fetch waiting on a deleted topic ends with UNKNOWN_TOPIC_OR_PARTITION', { timeout: 20_000 }, async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'gone' });
  const fetching = engine.fetch(request([{ topic: 'gone', partition: 0, offset: 0 }]));
  await engine.deleteTopic('gone');
  const response = await fetching;
  assert.equal(response.partitions[0].error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
});
