import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionTailWatch } from '../../../src/engine/embedded/partition-tail-watch';
import { RECENT_BATCHES_MAX_COUNT } from '../../../src/engine/embedded/recent-batches';
import { rec, recs, startEngine, tempDir } from './helpers';

test('the watch hears each written append before its caller is answered, and reads it from memory then', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'w', partitions: 1 });
  await engine.append('w', 0, recs(2), { acks: 1 });
  const heard: Array<{ answered: boolean; values: string[]; nextOffset: number }> = [];
  let answered = false;
  let next = 2;
  const watch = PartitionTailWatch.of(engine, 'w', 0, () => {
    const result = watch?.readRecent(next, 1 << 20, 'read_committed');
    assert.ok(result !== undefined, 'the new batch is in memory');
    heard.push({ answered, values: result.records.map((r) => r.value!.toString()), nextOffset: result.nextOffset });
    next = result.nextOffset;
  });
  assert.ok(watch !== undefined, 'the embedded engine has the side door');
  t.after(() => watch.close());
  assert.equal(watch.attach(), true);

  const atEnd = watch.readRecent(2, 1 << 20, 'read_committed');
  assert.deepEqual(atEnd?.records, [], 'nothing new yet: an empty answer, no file read needed');
  assert.equal(atEnd?.nextOffset, 2);

  await engine.append('w', 0, [rec('a'), rec('b')], { acks: 1 }).then(() => (answered = true));
  answered = false;
  await engine.append('w', 0, [rec('c')], { acks: -1 }).then(() => (answered = true));
  assert.deepEqual(heard, [
    { answered: false, values: ['a', 'b'], nextOffset: 4 },
    { answered: false, values: ['c'], nextOffset: 5 },
  ]);
  assert.equal(watch.readRecent(3, 1 << 20, 'read_uncommitted')?.records[0].value?.toString(), 'b', 'from the middle of a batch');
});

test('the watch leaves to fetches what is not in memory, past the high watermark, or gone', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'old', partitions: 1 });
  const watch = PartitionTailWatch.of(engine, 'old', 0, () => undefined)!;
  t.after(() => watch.close());
  assert.equal(watch.attach(), true);
  for (let i = 0; i < RECENT_BATCHES_MAX_COUNT + 5; i++) await engine.append('old', 0, [rec(`v${i}`)], { acks: 1 });
  assert.equal(watch.readRecent(0, 1 << 20, 'read_committed'), undefined, 'the oldest batches are only in the file');
  assert.equal(watch.readRecent(RECENT_BATCHES_MAX_COUNT + 10, 1 << 20, 'read_committed'), undefined, 'past the high watermark');
  const newest = watch.readRecent(RECENT_BATCHES_MAX_COUNT + 4, 1 << 20, 'read_committed');
  assert.deepEqual(newest?.records.map((r) => r.value?.toString()), [`v${RECENT_BATCHES_MAX_COUNT + 4}`]);

  await engine.deleteTopic('old');
  assert.equal(watch.attach(), false, 'the topic is gone');
  assert.equal(watch.readRecent(RECENT_BATCHES_MAX_COUNT + 4, 1 << 20, 'read_committed'), undefined);
});
