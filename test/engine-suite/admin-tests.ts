import assert from 'node:assert/strict';
import type { SuiteContext } from './suite';
import { record, rejectsWith } from './suite-helpers';

export function defineAdminTests(s: SuiteContext): void {
  s.it('admin: health is UP, brokers are listed', [], async () => {
    const { engine } = s.current;
    assert.equal(engine.health().status, 'UP');
    const brokers = await engine.brokers();
    assert.ok(brokers.length >= 1);
    for (const b of brokers) assert.ok(Number.isInteger(b.id) && b.host.length > 0 && b.port > 0, JSON.stringify(b));
  });

  s.it('admin: describe and list a topic with its partitions and offsets', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('admin-describe');
    await createTopic(topic, 3);
    await engine.append(topic, 2, [record('a'), record('b')], { acks: 1 });
    assert.ok((await engine.listTopics()).includes(topic));
    assert.equal(await engine.partitionCount(topic), 3);
    const d = await engine.describeTopic(topic);
    assert.equal(d.name, topic);
    assert.equal(d.internal, false);
    assert.deepEqual(d.partitions.map((p) => p.partition), [0, 1, 2]);
    assert.deepEqual(d.partitions.map((p) => [p.logStartOffset, p.highWatermark, p.lastStableOffset]), [[0, 0, 0], [0, 0, 0], [0, 2, 2]]);
    for (const p of d.partitions) assert.ok(p.replicas.length >= 1 && p.isr.length >= 1, `partition ${p.partition} has replicas and an ISR`);
  });

  s.it('admin: unknown topics are UNKNOWN_TOPIC_OR_PARTITION', [], async () => {
    const { engine } = s.current;
    const missing = s.topicName('admin-missing');
    await rejectsWith(engine.describeTopic(missing), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(await engine.partitionCount(missing), undefined);
  });

  s.it('admin: create a topic; duplicates, bad names, counts and configs are refused', ['topicAdmin'], async () => {
    const { engine } = s.current;
    const topic = s.topicName('admin-create');
    const created = await engine.createTopic({ name: topic, partitions: 2 });
    assert.equal(created.name, topic);
    assert.equal(created.partitions.length, 2);
    assert.ok((await engine.listTopics()).includes(topic));
    assert.equal(await engine.partitionCount(topic), 2);
    await engine.append(topic, 1, [record('works')], { acks: 1 });
    await rejectsWith(engine.createTopic({ name: topic, partitions: 1 }), 'TOPIC_ALREADY_EXISTS');
    await rejectsWith(engine.createTopic({ name: 'bad/name', partitions: 1 }), 'INVALID_TOPIC_EXCEPTION');
    await rejectsWith(engine.createTopic({ name: s.topicName('admin-zero'), partitions: 0 }), 'INVALID_PARTITIONS');
    await rejectsWith(engine.createTopic({ name: s.topicName('admin-cfg'), partitions: 1, configs: { 'no.such.config': '1' } }), 'INVALID_CONFIG');
    await rejectsWith(engine.createTopic({ name: s.topicName('admin-cfg'), partitions: 1, configs: { 'retention.ms': 'soon' } }), 'INVALID_CONFIG');
  });

  s.it('admin: grow partitions; shrinking or equal is INVALID_PARTITIONS', ['topicAdmin'], async () => {
    const { engine } = s.current;
    const topic = s.topicName('admin-grow');
    await engine.createTopic({ name: topic, partitions: 1 });
    await engine.createPartitions(topic, 3);
    assert.equal(await engine.partitionCount(topic), 3);
    assert.equal((await engine.describeTopic(topic)).partitions.length, 3);
    await engine.append(topic, 2, [record('new partition')], { acks: 1 });
    await rejectsWith(engine.createPartitions(topic, 3), 'INVALID_PARTITIONS');
    await rejectsWith(engine.createPartitions(topic, 2), 'INVALID_PARTITIONS');
    await rejectsWith(engine.createPartitions(s.topicName('admin-grow-missing'), 2), 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  s.it('admin: configs are set at creation, altered and reset', ['topicAdmin', 'topicConfigs'], async () => {
    const { engine } = s.current;
    const topic = s.topicName('admin-configs');
    const created = await engine.createTopic({ name: topic, partitions: 1, configs: { 'retention.ms': '3600000' } });
    assert.equal(created.configs['retention.ms'], '3600000');
    await engine.alterTopicConfigs(topic, { 'retention.bytes': '1048576' });
    let configs = (await engine.describeTopic(topic)).configs;
    assert.equal(configs['retention.bytes'], '1048576');
    assert.equal(configs['retention.ms'], '3600000', 'altering one config keeps the others');
    await engine.alterTopicConfigs(topic, { 'retention.ms': null });
    configs = (await engine.describeTopic(topic)).configs;
    assert.equal(configs['retention.ms'], '604800000', 'null resets to the default');
    assert.equal(configs['retention.bytes'], '1048576');
    await rejectsWith(engine.alterTopicConfigs(topic, { 'no.such.config': '1' }), 'INVALID_CONFIG');
    await rejectsWith(engine.alterTopicConfigs(s.topicName('admin-configs-missing'), { 'retention.ms': '1' }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  s.it('admin: delete a topic', ['topicAdmin'], async () => {
    const { engine } = s.current;
    const topic = s.topicName('admin-delete');
    const keep = s.topicName('admin-keep');
    await engine.createTopic({ name: topic, partitions: 1 });
    await engine.createTopic({ name: keep, partitions: 1 });
    await engine.append(topic, 0, [record('gone')], { acks: 1 });
    await engine.append(keep, 0, [record('stays')], { acks: 1 });
    await engine.deleteTopic(topic);
    assert.ok(!(await engine.listTopics()).includes(topic));
    assert.equal(await engine.partitionCount(topic), undefined);
    await rejectsWith(engine.describeTopic(topic), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(engine.append(topic, 0, [record('x')], { acks: 1 }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(engine.deleteTopic(topic), 'UNKNOWN_TOPIC_OR_PARTITION');
    // Other topics are unaffected by the deletion.
    const appended = await engine.append(keep, 0, [record('still works')], { acks: 1 });
    assert.equal(appended.baseOffset, 1);
  });
}
