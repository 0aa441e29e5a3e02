import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSse } from '../sse/sse-client';
import { eventually, listenTestApp, produceOver, recordsOf, startServer } from '../sse/live-app';

test('a client that stops reading is ended at the buffer bound with its cursor, and resumes from it with no gap', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_CLIENT_BUFFER_BYTES: '65536' });
  await live.produce('flood', [{ value: 'start' }]);
  const conn = await connectSse(live.base, '/topics/flood/events');
  t.after(() => conn.close());
  await eventually(() => live.hub.readers.size === 1, 'the stream to reach the tail');
  conn.pause();
  const value = 'x'.repeat(100_000);
  let produced = 0;
  // Loopback socket buffers hold a few MB; produce until the stream gives up on the client.
  for (let round = 0; round < 60 && live.hub.streamCount > 0; round++) {
    await live.produce('flood', Array.from({ length: 10 }, () => ({ value })), '?acks=1');
    produced += 10;
  }
  assert.equal(live.hub.streamCount, 0, `the stream ended after ${produced} records`);
  conn.resume();
  await conn.ended;
  const delivered = recordsOf(conn);
  const last = conn.messages[conn.messages.length - 1];
  assert.equal(last.event, 'end');
  const end = JSON.parse(last.data);
  assert.equal(end.reason, 'slow_consumer');
  assert.equal(end.cursor, last.id, 'the end event carries the cursor as its id');
  assert.ok(delivered.length < produced, `the server did not buffer everything (${delivered.length} of ${produced})`);
  assert.deepEqual(delivered.map((r) => r.offset), delivered.map((_, i) => 1 + i), 'contiguous from the start');

  const again = await connectSse(live.base, '/topics/flood/events', { 'last-event-id': last.id });
  t.after(() => again.close());
  await again.waitForCount(produced - delivered.length, 10_000);
  const rest = recordsOf(again);
  assert.equal(rest[0].offset, delivered.length + 1, 'resumes right after the last record delivered');
  assert.equal(rest[rest.length - 1].offset, produced);
});

test('shutdown ends every stream with a retry hint and an end event carrying the cursor', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_RETRY_MS: '250' });
  await live.produce('bye', [{ value: 1 }, { value: 2 }]);
  const conn = await connectSse(live.base, '/topics/bye/events?from=earliest');
  await conn.waitForCount(2);
  await live.app.close();
  await conn.ended;
  const last = conn.messages[conn.messages.length - 1];
  assert.equal(last.event, 'end');
  assert.equal(JSON.parse(last.data).reason, 'shutdown');
  assert.equal(last.retry, 250);
  assert.equal(last.id, conn.messages[1].id, 'the cursor is where the client stands');
});

test('resume across a server restart: the cursor from before the restart continues exactly', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-sse-restart-'));
  let running: { stop(): Promise<void> } | undefined;
  t.after(async () => {
    await running?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = () => startServer(dataDir, { BASKET_NUM_PARTITIONS: '2' });
  const first = (running = await start());
  await produceOver(first.base, 'durable', Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: i })));
  const before = await connectSse(first.base, '/topics/durable/events?from=earliest');
  await before.waitForCount(6);
  const cut = before.messages[3].id;
  await first.stop();

  const second = (running = await start());
  await produceOver(second.base, 'durable', [{ key: 'k0', value: 6 }]);
  const after = await connectSse(second.base, '/topics/durable/events', { 'last-event-id': cut });
  t.after(() => after.close());
  await after.waitForCount(3);
  const values = [...before.messages.slice(0, 4).map((m) => JSON.parse(m.data).value), ...recordsOf(after).map((r) => r.value)];
  assert.deepEqual([...values].sort(), [0, 1, 2, 3, 4, 5, 6]);
});
