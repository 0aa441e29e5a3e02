import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../../src/engine/engine-error';
import { rec, readAllValues, recs, startEngine, tempDir } from './helpers';

test('metadata replay: topics, partitions and configs survive a restart; deleted topics stay deleted', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir, { defaultPartitions: 3 });
  await engine.createTopic({ name: 'orders', partitions: 2, configs: { 'retention.ms': '1000000', 'segment.bytes': '50000' } });
  await engine.createTopic({ name: 'defaults' });
  await engine.createTopic({ name: 'doomed', partitions: 4 });
  await engine.createTopic({ name: '__consumer_offsets', partitions: 2 });
  await engine.createPartitions('orders', 5);
  await engine.alterTopicConfigs('orders', { 'retention.ms': null, 'max.message.bytes': '5000' });
  await engine.append('orders', 4, recs(3), { acks: 1 });
  await engine.append('doomed', 0, recs(3), { acks: 1 });
  await engine.deleteTopic('doomed');
  await engine.createTopic({ name: 'reborn', partitions: 1 });
  await engine.deleteTopic('reborn');
  await engine.createTopic({ name: 'reborn', partitions: 2 });
  await engine.append('reborn', 1, recs(1, 'second-life'), { acks: 1 });
  await engine.close();

  const again = await startEngine(t, dir);
  assert.deepEqual(await again.listTopics(), ['__consumer_offsets', 'defaults', 'orders', 'reborn']);
  const orders = await again.describeTopic('orders');
  assert.equal(orders.partitions.length, 5);
  assert.equal(orders.configs['retention.ms'], '604800000', 'reset to the default');
  assert.equal(orders.configs['max.message.bytes'], '5000');
  assert.equal(orders.configs['segment.bytes'], '50000');
  assert.equal(orders.partitions[4].highWatermark, 3);
  assert.equal((await again.describeTopic('defaults')).partitions.length, 3);
  assert.equal((await again.describeTopic('__consumer_offsets')).internal, true);
  assert.equal(await again.partitionCount('doomed'), undefined);
  await assert.rejects(again.describeTopic('doomed'), (err: EngineError) => err.code === 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.deepEqual(await readAllValues(again, 'reborn', 1), ['second-life0']);
  assert.equal(again.partitionLog('reborn', 0)!.highWatermark, 0);
  // The config applies to the log: max.message.bytes=5000 rejects a bigger batch.
  await assert.rejects(again.append('orders', 0, [rec('x'.repeat(6000))], { acks: 1 }), (err: EngineError) => err.code === 'RECORD_TOO_LARGE');
  assert.deepEqual(
    readdirSync(dir).filter((d) => d.startsWith('doomed') || d.endsWith('-delete')),
    [],
    'deleted topics leave no directory behind',
  );
});

test('a topic recreated after delete starts empty; a new topic with an old directory is not fooled', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'again', partitions: 1 });
  await engine.append('again', 0, recs(5), { acks: 1 });
  await engine.deleteTopic('again');
  await assert.rejects(engine.append('again', 0, recs(1), { acks: 1 }), (err: EngineError) => err.code === 'UNKNOWN_TOPIC_OR_PARTITION');
  await engine.createTopic({ name: 'again', partitions: 1 });
  assert.equal(engine.partitionLog('again', 0)!.highWatermark, 0);
  assert.equal((await engine.append('again', 0, recs(1), { acks: 1 })).baseOffset, 0);
  assert.equal(existsSync(join(dir, 'again-0', 'partition.metadata')), true);
});

test('admin validation: names, partition counts, replication factor, configs, duplicates', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  const code = (c: string) => (err: EngineError) => err.code === c;
  await assert.rejects(engine.createTopic({ name: 'bad name' }), code('INVALID_TOPIC_EXCEPTION'));
  await assert.rejects(engine.createTopic({ name: '..' }), code('INVALID_TOPIC_EXCEPTION'));
  await assert.rejects(engine.createTopic({ name: 't', partitions: 0 }), code('INVALID_PARTITIONS'));
  await assert.rejects(engine.createTopic({ name: 't', partitions: 1.5 }), code('INVALID_PARTITIONS'));
  await assert.rejects(engine.createTopic({ name: 't', replicationFactor: 3 }), code('INVALID_REPLICATION_FACTOR'));
  await assert.rejects(engine.createTopic({ name: 't', configs: { 'no.such.config': '1' } }), code('INVALID_CONFIG'));
  await assert.rejects(engine.createTopic({ name: 't', configs: { 'retention.ms': 'soon' } }), code('INVALID_CONFIG'));
  assert.deepEqual(await engine.listTopics(), []);
  await engine.createTopic({ name: 't', partitions: 2, replicationFactor: 1 });
  await assert.rejects(engine.createTopic({ name: 't' }), code('TOPIC_ALREADY_EXISTS'));
  await assert.rejects(engine.createPartitions('t', 2), code('INVALID_PARTITIONS'));
  await assert.rejects(engine.createPartitions('nope', 3), code('UNKNOWN_TOPIC_OR_PARTITION'));
  await assert.rejects(engine.alterTopicConfigs('t', { 'segment.bytes': '1' }), code('INVALID_CONFIG'));
  await assert.rejects(engine.deleteTopic('nope'), code('UNKNOWN_TOPIC_OR_PARTITION'));
  await assert.rejects(engine.append('t', 2, recs(1), { acks: 1 }), code('UNKNOWN_TOPIC_OR_PARTITION'));
  await assert.rejects(engine.append('t', 0, [], { acks: 1 }), code('INVALID_REQUEST'));
  assert.deepEqual(await engine.brokers(), [{ id: 1, host: 'localhost', port: 8080 }]);
  // Concurrent creates of one name: exactly one wins.
  const outcomes = await Promise.allSettled([engine.createTopic({ name: 'race' }), engine.createTopic({ name: 'race' })]);
  assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
});

test('the engine refuses work before start and after close', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'x' });
  await engine.close();
  await assert.rejects(engine.append('x', 0, recs(1), { acks: 1 }), (err: EngineError) => err.code === 'ENGINE_CLOSED');
  await assert.rejects(engine.listTopics(), (err: EngineError) => err.code === 'ENGINE_CLOSED');
  assert.equal(engine.health().status, 'DOWN');
});
