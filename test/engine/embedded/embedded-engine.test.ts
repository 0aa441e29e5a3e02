import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAllValues, recs, startEngine, tempDir } from './helpers';

test('appends and reads back across a restart', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'orders', partitions: 2 });
  const first = await engine.append('orders', 0, recs(3), { acks: 1 });
  assert.deepEqual([first.baseOffset, first.lastOffset], [0, 2]);
  const second = await engine.append('orders', 0, recs(2, 'w'), { acks: -1 });
  assert.deepEqual([second.baseOffset, second.lastOffset], [3, 4]);
  assert.deepEqual(await readAllValues(engine, 'orders'), ['v0', 'v1', 'v2', 'w0', 'w1']);
  await engine.close();

  const again = await startEngine(t, dir);
  assert.deepEqual(await again.listTopics(), ['orders']);
  assert.deepEqual(await readAllValues(again, 'orders'), ['v0', 'v1', 'v2', 'w0', 'w1']);
  const third = await again.append('orders', 0, recs(1, 'x'), { acks: 1 });
  assert.equal(third.baseOffset, 5);
  const d = await again.describeTopic('orders');
  assert.equal(d.partitions.length, 2);
  assert.equal(d.partitions[0].highWatermark, 6);
  assert.equal(d.partitions[1].highWatermark, 0);
});
