import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedPartitionReaders } from '../../src/sse/shared-partition-readers';
import { PartitionFeed } from '../../src/sse/partition-feed';
import { CollectingSink, engineWithFetchCount, feedsOnTail, values } from './tail-fixture';
import { eventually } from './live-app';

test('subscribers at the end of a partition share one tail: one fetch per append, the same records to all', async (t) => {
  const { engine, fetches } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'fan', partitions: 1 });
  const { readers, sinks, feeds } = await feedsOnTail(t, engine, 'fan', 50, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  assert.equal(readers.size, 1);
  assert.equal(readers.tail('fan', 0, 'read_committed')?.subscriberCount, 50);

  const before = fetches();
  await engine.append('fan', 0, values(3), { acks: 1 });
  await eventually(() => sinks.every((s) => s.records.length === 3), 'every subscriber to get the batch');
  // The tail's fetch woke and returned, and the next one is parked: 50 subscribers, about one fetch.
  assert.ok(fetches() - before <= 2, `${fetches() - before} fetches for one append to 50 subscribers`);
  for (const s of sinks) assert.deepEqual(s.records, sinks[0].records, 'the very same record objects');
  assert.deepEqual(sinks[0].records.map((r) => r.offset), [0, 1, 2]);
  const json = sinks[0].records[0].data('json');
  assert.equal(sinks[1].records[0].data('json'), json, 'serialized once, shared');

  for (const f of feeds) f.stop();
  assert.equal(readers.size, 0, 'the last subscriber leaving drops the tail');
});

test('a subscriber behind the tail catches up with its own reads, then joins the tail with no gap or repeat', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'late', partitions: 1 });
  await engine.append('late', 0, values(20, 'h'), { acks: 1 });
  const readers = new SharedPartitionReaders(engine, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  t.after(() => readers.close());
  const options = { engine, readers, isolationLevel: 'read_committed' as const, catchUpBytes: 64 };
  const live = new CollectingSink();
  const liveFeed = new PartitionFeed(live, 0, 'late', 0, 20, options);
  liveFeed.start();
  await eventually(() => liveFeed.tailing, 'the live feed on the tail');

  const behind = new CollectingSink();
  const behindFeed = new PartitionFeed(behind, 0, 'late', 0, 0, options);
  behindFeed.start();
  // Appends race the catch-up: they must land on one side of the join exactly once.
  for (let i = 0; i < 5; i++) await engine.append('late', 0, values(2, `n${i}-`), { acks: 1 });
  await eventually(() => behindFeed.tailing && behind.records.length === 30, 'the late feed to catch up and join');
  assert.deepEqual(behind.records.map((r) => r.offset), Array.from({ length: 30 }, (_, i) => i));
  assert.equal(readers.size, 1);
  assert.equal(readers.tail('late', 0, 'read_committed')?.subscriberCount, 2);
  await engine.append('late', 0, values(1, 'z'), { acks: 1 });
  await eventually(() => behind.records.length === 31 && live.records.length === 11, 'both get the next record');
  liveFeed.stop();
  behindFeed.stop();
});

test('appends landing while the tail hands out to thousands: every subscriber gets every record once, in order', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'laps', partitions: 1 });
  // More subscribers than one slice of a lap, so laps yield to the event loop and appends land mid-lap.
  const { readers, sinks, feeds } = await feedsOnTail(t, engine, 'laps', 2500, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  // A subscriber leaving in the middle of a lap must not disturb the others' turns.
  const leaver = 1800;
  sinks[leaver].onDeliver = () => feeds[leaver].stop();
  // Each delivery to subscriber 1500 appends again, so records keep arriving while laps run.
  let appended = 1;
  const appends: Promise<unknown>[] = [engine.append('laps', 0, values(1, 'a'), { acks: 1 })];
  sinks[1500].onDeliver = () => {
    if (appended < 12) appends.push(engine.append('laps', 0, values(2, `b${appended++}-`), { acks: 1 }));
  };
  await eventually(() => appended === 12 && sinks.every((s, i) => i === leaver || s.records.length === 23), 'every record to every subscriber', 20_000);
  await Promise.all(appends);
  const expected = Array.from({ length: 23 }, (_, i) => i);
  for (const [i, s] of sinks.entries()) if (i !== leaver) assert.deepEqual(s.records.map((r) => r.offset), expected, `subscriber ${i}`);
  assert.equal(sinks[leaver].records.length >= 1, true);
  assert.equal(readers.tail('laps', 0, 'read_committed')?.subscriberCount, 2499);
  for (const f of feeds) f.stop();
  assert.equal(readers.size, 0);
});

test('a record fetched in the middle of a lap goes to the rest of that lap at once, and to the ones before in the next', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'merge', partitions: 1 });
  // One batch per fetch (a one-record batch is about 70 bytes) and a turn of the event loop after
  // every delivery: a lap over 2,000 subscribers spans 2,000 turns, while the fetch of the second
  // batch is one file read.
  const { sinks, feeds } = await feedsOnTail(t, engine, 'merge', 2000, { maxBytes: 100, maxWaitMs: 30_000, sliceSize: 1 });
  const deliveries = sinks.map(() => 0);
  sinks.forEach((s, i) => (s.onDeliver = () => deliveries[i]++));
  await Promise.all([engine.append('merge', 0, values(1, 'a'), { acks: 1 }), engine.append('merge', 0, values(1, 'b'), { acks: 1 })]);
  await eventually(() => sinks.every((s) => s.records.length === 2), 'both records to every subscriber', 20_000);
  for (const s of sinks) assert.deepEqual(s.records.map((r) => r.offset), [0, 1]);
  assert.equal(deliveries[0], 2, 'the first subscriber had the first record before the second was fetched');
  assert.equal(deliveries[sinks.length - 1], 1, 'the last subscriber got both records in one delivery, one lap');
  for (const f of feeds) f.stop();
});

test('a deleted topic fails its subscribers instead of leaving them waiting', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'gone', partitions: 1 });
  // A short park: the next fetch after the delete is what must notice it.
  const { readers, sinks: [sink] } = await feedsOnTail(t, engine, 'gone', 1, { maxBytes: 1 << 20, maxWaitMs: 50 });
  await engine.deleteTopic('gone');
  await eventually(() => sink.failed !== undefined, 'the feed to fail');
  assert.equal(sink.failed?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(readers.size, 0);
});
