import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CountingFileOps, readAllValues, rec, startEngine, tempDir } from './helpers';
import { EngineError } from '../../../src/engine/engine-error';

test('small drains are written on the event loop thread, large ones through the pool; both read back and survive a restart', async (t) => {
  const dir = tempDir(t);
  const ops = new CountingFileOps();
  let engine = await startEngine(t, dir, { fileOps: ops });
  await engine.createTopic({ name: 'w', partitions: 1 });

  await engine.append('w', 0, [rec('small')], { acks: 1 });
  assert.equal(ops.threadWrites, ops.writes, 'a one-record drain is written in place');

  const big = 'x'.repeat(100 << 10);
  const before = { writes: ops.writes, threadWrites: ops.threadWrites };
  await engine.append('w', 0, [rec(big)], { acks: -1 });
  assert.equal(ops.writes - before.writes, 1);
  assert.equal(ops.threadWrites, before.threadWrites, 'a 100 KiB drain goes to the thread pool');

  await engine.close();
  engine = await startEngine(t, dir, { fileOps: new CountingFileOps() });
  assert.deepEqual(await readAllValues(engine, 'w'), ['small', big]);
});

test('a failed write on the event loop thread takes the partition offline like a failed pool write', async (t) => {
  const ops = new CountingFileOps();
  const engine = await startEngine(t, tempDir(t), { fileOps: ops });
  await engine.createTopic({ name: 'f', partitions: 1 });
  await engine.append('f', 0, [rec('kept')], { acks: 1 });
  ops.failWrites = true;
  await assert.rejects(engine.append('f', 0, [rec('lost')], { acks: 1 }), (err: unknown) => err instanceof EngineError);
  assert.ok(ops.threadWrites >= 2);
  assert.equal(engine.health().status, 'DOWN', 'the partition is offline');
});
