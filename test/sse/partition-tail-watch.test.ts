import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedPartitionReaders } from '../../src/sse/shared-partition-readers';
import { PartitionFeed } from '../../src/sse/partition-feed';
import { RECENT_BATCHES_MAX_BYTES } from '../../src/engine/embedded/recent-batches';
import { CollectingSink, engineWithFetchCount, feedsOnTail, values } from './tail-fixture';
import { eventually } from './live-app';

// On the embedded engine a partition's tail is woken by the append itself (PartitionTailWatch).

test('an appended record reaches the tail subscribers before the append is answered, and costs no fetch', async (t) => {
  const { engine, fetches } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'first', partitions: 1 });
  const { sinks, feeds } = await feedsOnTail(t, engine, 'first', 3, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  const before = fetches();
  for (let i = 0; i < 5; i++) {
    const had = sinks.map((s) => s.records.length);
    const result = await engine.append('first', 0, values(1, `r${i}-`), { acks: 1 });
    // Nothing else ran between the append's write and this continuation but its own answer.
    for (const [n, s] of sinks.entries()) {
      assert.equal(s.records.length, had[n] + 1, `subscriber ${n} had record ${result.baseOffset} when append ${i} was answered`);
      assert.equal(s.records[s.records.length - 1].offset, result.baseOffset);
    }
  }
  assert.equal(fetches(), before, 'appends at the end of the log woke the tail without a fetch');
  for (const f of feeds) f.stop();
});

test('a subscriber that joins in the middle of an append hand-out gets every later record once, in order', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'join', partitions: 1 });
  const { readers, sinks, feeds } = await feedsOnTail(t, engine, 'join', 2, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  const options = { engine, readers, isolationLevel: 'read_committed' as const, catchUpBytes: 1 << 20 };
  const joiner = new CollectingSink();
  let joinerFeed: PartitionFeed | undefined;
  // The first subscriber's first delivery runs inside the writer's turn: the joiner starts there,
  // at the offset just past what is being handed out, and joins the tail in that same lap.
  sinks[0].onDeliver = () => {
    if (joinerFeed !== undefined) return;
    joinerFeed = new PartitionFeed(joiner, 0, 'join', 0, feeds[0].next, options);
    joinerFeed.start();
  };
  await engine.append('join', 0, values(2, 'a'), { acks: 1 });
  assert.equal(joinerFeed?.tailing, true, 'joined the tail at once, inside the hand-out');
  assert.equal(readers.tail('join', 0, 'read_committed')?.subscriberCount, 3);
  for (let i = 0; i < 4; i++) await engine.append('join', 0, values(3, `b${i}-`), { acks: 1 });
  await eventually(() => joiner.records.length === 12 && sinks[1].records.length === 14, 'every later record to the joiner');
  assert.deepEqual(joiner.records.map((r) => r.offset), Array.from({ length: 12 }, (_, i) => i + 2));
  assert.deepEqual(sinks[1].records.map((r) => r.offset), Array.from({ length: 14 }, (_, i) => i));
  joinerFeed?.stop();
  for (const f of feeds) f.stop();
});

test('a batch too large to keep in memory, and appends beyond one read budget, come through fetches', async (t) => {
  const { engine, fetches } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'big', partitions: 1 });
  // A read budget of about two small batches: one append of five batches' worth is more than one read.
  const { sinks, feeds } = await feedsOnTail(t, engine, 'big', 2, { maxBytes: 200, maxWaitMs: 30_000 });
  const big = Array.from({ length: 4 }, (_, i) => ({ key: null, value: Buffer.alloc(RECENT_BATCHES_MAX_BYTES / 2, 97 + i) }));
  const before = fetches();
  await engine.append('big', 0, big, { acks: 1 });
  await eventually(() => sinks.every((s) => s.records.length === 4), 'the large batch to every subscriber');
  assert.ok(fetches() > before, 'the large batch was read back from the file');
  await Promise.all(Array.from({ length: 5 }, (_, i) => engine.append('big', 0, values(1, `s${i}-`), { acks: 1 })));
  await eventually(() => sinks.every((s) => s.records.length === 9), 'the small batches to every subscriber');
  for (const s of sinks) {
    assert.deepEqual(s.records.map((r) => r.offset), Array.from({ length: 9 }, (_, i) => i));
    assert.equal(s.records[0].record.value?.length, RECENT_BATCHES_MAX_BYTES / 2);
  }
  for (const f of feeds) f.stop();
});

test('appends that land while the tail fetches are neither lost nor repeated', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'race', partitions: 1 });
  const readers = new SharedPartitionReaders(engine, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  t.after(() => readers.close());
  const options = { engine, readers, isolationLevel: 'read_committed' as const, catchUpBytes: 1 << 20 };
  const sink = new CollectingSink();
  const feed = new PartitionFeed(sink, 0, 'race', 0, 0, options);
  // Appends issued in the same turns as the feed's catch-up and the tail's first fetch.
  const appends = [engine.append('race', 0, values(1, 'x'), { acks: 1 })];
  feed.start();
  for (let i = 0; i < 30; i++) {
    appends.push(engine.append('race', 0, values(1, `y${i}-`), { acks: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(appends);
  await eventually(() => sink.records.length === 31, 'all 31 records');
  assert.deepEqual(sink.records.map((r) => r.offset), Array.from({ length: 31 }, (_, i) => i));
  assert.equal(feed.tailing, true);
  feed.stop();
});

test('with many subscribers the append is answered after the first few have the record, not after all of them', async (t) => {
  const { engine } = await engineWithFetchCount(t);
  await engine.createTopic({ name: 'many', partitions: 1 });
  const { sinks, feeds } = await feedsOnTail(t, engine, 'many', 300, { maxBytes: 1 << 20, maxWaitMs: 30_000 });
  await engine.append('many', 0, values(1), { acks: 1 });
  const had = sinks.filter((s) => s.records.length === 1).length;
  assert.ok(sinks[0].records.length === 1, 'the first subscriber had the record before the answer');
  assert.ok(had < sinks.length, `${had} of ${sinks.length} subscribers had it when the append was answered`);
  await eventually(() => sinks.every((s) => s.records.length === 1), 'the rest of the lap');
  for (const f of feeds) f.stop();
});
