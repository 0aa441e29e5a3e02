import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectSse } from '../sse/sse-client';
import { eventually, listenTestApp, offsetsOf, positionsOf, recordsOf } from '../sse/live-app';

async function createTopic(base: string, name: string, partitions: number): Promise<void> {
  const res = await fetch(`${base}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions }) });
  assert.equal(res.status, 201, await res.text());
}

test('from=earliest: history, then records pushed as they are appended; each id is the cursor past its record', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('orders', [{ key: 'k1', value: { n: 1 }, headers: [{ key: 'h', value: 'v' }] }, { value: { n: 2 } }]);
  const conn = await connectSse(live.base, '/topics/orders/events?from=earliest');
  t.after(() => conn.close());
  assert.equal(conn.status, 200);
  assert.match(String(conn.headers['content-type']), /^text\/event-stream/);
  assert.equal(conn.headers['cache-control'], 'no-cache, no-transform');
  await conn.waitForCount(2);
  assert.equal(conn.parser.retryMs, 1000, 'the retry hint comes first');
  const [first, second] = recordsOf(conn);
  assert.deepEqual(
    { topic: first.topic, key: first.key, value: first.value, partition: first.partition, offset: first.offset },
    { topic: 'orders', key: 'k1', value: { n: 1 }, partition: 0, offset: 0 },
  );
  assert.deepEqual((first as any).headers, [{ key: 'h', value: 'v' }]);
  assert.equal(typeof (first as any).timestamp, 'number');
  assert.equal(second.offset, 1);
  assert.deepEqual(positionsOf(['orders'], conn.messages[0].id), [[1]]);
  assert.deepEqual(positionsOf(['orders'], conn.messages[1].id), [[2]]);

  await live.produce('orders', [{ value: { n: 3 } }]);
  const pushed = await conn.waitFor((m) => m.event === 'record' && JSON.parse(m.data).offset === 2);
  assert.deepEqual(JSON.parse(pushed.data).value, { n: 3 });
  assert.deepEqual(positionsOf(['orders'], pushed.id), [[3]]);
});

test('default start is latest: only records appended after the stream opened', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('news', [{ value: 'old' }]);
  const conn = await connectSse(live.base, '/topics/news/events');
  t.after(() => conn.close());
  await eventually(() => live.hub.readers.size === 1, 'the stream to reach the tail');
  await live.produce('news', [{ value: 'new' }]);
  await conn.waitForCount(1);
  assert.deepEqual(recordsOf(conn).map((r) => r.value), ['new']);
});

test('from=<timestamp> starts at the first record at or after it', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('ts', [
    { value: 'a', timestamp: 1000 },
    { value: 'b', timestamp: 2000 },
    { value: 'c', timestamp: 3000 },
  ] as unknown[]);
  const conn = await connectSse(live.base, '/topics/ts/events?from=2000');
  t.after(() => conn.close());
  await conn.waitForCount(2);
  assert.deepEqual(recordsOf(conn).map((r) => r.value), ['b', 'c']);
});

test('Last-Event-ID resumes exactly after the last event seen, across partitions: nothing lost, nothing repeated', async (t) => {
  const live = await listenTestApp(t);
  await createTopic(live.base, 'multi', 3);
  const keys = Array.from({ length: 30 }, (_, i) => ({ key: `user-${i}`, value: i }));
  await live.produce('multi', keys);
  const first = await connectSse(live.base, '/topics/multi/events?from=earliest');
  await first.waitForCount(12);
  first.close();
  await first.ended;
  // The client saw 12 events (the server may have sent more before the cut; they count as lost).
  const seen = first.messages.slice(0, 12);
  const lastId = seen[11].id;
  await live.produce('multi', Array.from({ length: 10 }, (_, i) => ({ key: `later-${i}`, value: 100 + i })));

  const second = await connectSse(live.base, '/topics/multi/events?from=earliest', { 'last-event-id': lastId });
  t.after(() => second.close());
  const total = 40;
  await eventually(() => seen.length + recordsOf(second).length >= total, 'every record once');
  const all = [...offsetsOf(first).slice(0, 12), ...offsetsOf(second)];
  assert.equal(all.length, total);
  assert.equal(new Set(all).size, total, 'no record twice');
  const values = [...seen.map((m) => JSON.parse(m.data).value), ...recordsOf(second).map((r) => r.value)].sort((a, b) => a - b);
  assert.deepEqual(values, [...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 100 + i)]);
});

test('cursor= resumes like Last-Event-ID, and Last-Event-ID wins over it', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('c', [1, 2, 3, 4, 5].map((value) => ({ value })));
  const probe = await connectSse(live.base, '/topics/c/events?from=earliest');
  await probe.waitForCount(5);
  probe.close();
  const afterTwo = probe.messages[1].id;
  const afterFour = probe.messages[3].id;

  const byQuery = await connectSse(live.base, `/topics/c/events?cursor=${afterTwo}`);
  t.after(() => byQuery.close());
  await byQuery.waitForCount(3);
  assert.deepEqual(recordsOf(byQuery).map((r) => r.value), [3, 4, 5]);

  const byHeader = await connectSse(live.base, `/topics/c/events?cursor=${afterTwo}`, { 'last-event-id': afterFour });
  t.after(() => byHeader.close());
  await byHeader.waitForCount(1);
  assert.deepEqual(recordsOf(byHeader).map((r) => r.value), [5]);
});

test('several topics in one stream: the cursor covers all of them', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('alpha', [{ value: 'a0' }]);
  await live.produce('beta', [{ value: 'b0' }, { value: 'b1' }]);
  const conn = await connectSse(live.base, '/events?topics=beta,alpha&from=earliest');
  t.after(() => conn.close());
  await conn.waitForCount(3);
  assert.deepEqual(recordsOf(conn).map((r) => r.value).sort(), ['a0', 'b0', 'b1']);
  const last = conn.messages[2].id;
  assert.deepEqual(positionsOf(['alpha', 'beta'], last), [[1], [2]]);
  // The same cursor means nothing for another set of topics.
  const wrong = await fetch(`${live.base}/topics/alpha/events?cursor=${last}`);
  assert.equal(wrong.status, 400);
  assert.match(((await wrong.json()) as any).message, /another set of topics/);
});

test('a stream follows a topic that grows: the new partition is read from its beginning', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_HEARTBEAT_INTERVAL_MS: '20' });
  await live.produce('grow', [{ value: 'p0' }]);
  const conn = await connectSse(live.base, '/topics/grow/events?from=earliest');
  t.after(() => conn.close());
  await conn.waitForCount(1);
  await live.engine.createPartitions('grow', 2);
  await live.produce('grow', [{ value: 'p1', partition: 1 }]);
  const got = await conn.waitFor((m) => m.event === 'record' && JSON.parse(m.data).partition === 1);
  assert.equal(JSON.parse(got.data).value, 'p1');
  assert.deepEqual(positionsOf(['grow'], got.id), [[1, 1]]);
});

test('a cursor issued before the topic grew is valid: new partitions start at their beginning', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('g2', [{ value: 'x' }]);
  const probe = await connectSse(live.base, '/topics/g2/events?from=earliest');
  await probe.waitForCount(1);
  probe.close();
  await live.engine.createPartitions('g2', 2);
  await live.produce('g2', [{ value: 'y', partition: 1 }]);
  const conn = await connectSse(live.base, `/topics/g2/events?cursor=${probe.messages[0].id}`);
  t.after(() => conn.close());
  await conn.waitForCount(1);
  assert.deepEqual(recordsOf(conn).map((r) => [r.partition, r.value]), [[1, 'y']]);
});

test('heartbeat comments keep an idle stream alive', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_HEARTBEAT_INTERVAL_MS: '20' });
  await live.produce('idle', [{ value: 1 }]);
  const conn = await connectSse(live.base, '/topics/idle/events');
  t.after(() => conn.close());
  await eventually(() => conn.parser.comments >= 3, 'three heartbeats');
  assert.equal(conn.messages.length, 0, 'heartbeats are comments, not events');
});

test('a record the format cannot show becomes an unreadable event, and the stream goes on', async (t) => {
  const live = await listenTestApp(t);
  const res = await fetch(`${live.base}/topics/mixed`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kafka.string.v2+json' },
    body: JSON.stringify({ records: [{ value: 'not json' }, { value: '{"ok":true}' }] }),
  });
  assert.equal(res.status, 200);
  const json = await connectSse(live.base, '/topics/mixed/events?from=earliest');
  t.after(() => json.close());
  await json.waitForCount(2);
  assert.deepEqual(json.messages.map((m) => m.event), ['unreadable', 'record']);
  assert.equal(JSON.parse(json.messages[0].data).error_code, 42203);
  assert.deepEqual(JSON.parse(json.messages[1].data).value, { ok: true });
  const text = await connectSse(live.base, '/topics/mixed/events?from=earliest&format=string');
  t.after(() => text.close());
  await text.waitForCount(2);
  assert.deepEqual(recordsOf(text).map((r) => r.value), ['not json', '{"ok":true}']);
});
