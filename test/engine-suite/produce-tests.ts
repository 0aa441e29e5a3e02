import assert from 'node:assert/strict';
import type { SuiteContext } from './suite';
import { T0, readAll, record, rejectsWith, text } from './suite-helpers';

export function defineProduceTests(s: SuiteContext): void {
  s.it('append: offsets are consecutive per partition, partitions independent', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-offsets');
    await createTopic(topic, 2);
    const first = await engine.append(topic, 0, [record('a'), record('b'), record('c')], { acks: 1 });
    assert.deepEqual([first.topic, first.partition, first.baseOffset, first.lastOffset], [topic, 0, 0, 2]);
    const second = await engine.append(topic, 0, [record('d')], { acks: 1 });
    assert.deepEqual([second.baseOffset, second.lastOffset], [3, 3]);
    const other = await engine.append(topic, 1, [record('x')], { acks: 1 });
    assert.deepEqual([other.partition, other.baseOffset, other.lastOffset], [1, 0, 0]);
    assert.deepEqual((await readAll(engine, topic, 0)).map((r) => text(r.value)), ['a', 'b', 'c', 'd']);
    assert.deepEqual((await readAll(engine, topic, 1)).map((r) => text(r.value)), ['x']);
  });

  s.it('append: keys, headers, timestamps and null keys/values round-trip', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-fields');
    await createTopic(topic, 1);
    const before = Date.now();
    await engine.append(
      topic,
      0,
      [
        record('v1', { key: 'k1', headers: [{ key: 'trace', value: Buffer.from('t-1') }, { key: 'kind', value: Buffer.from([0, 255]) }], timestamp: T0 + 5 }),
        record(null, { key: 'tombstone', timestamp: T0 + 7 }),
        record('no-key'),
      ],
      { acks: -1 },
    );
    const after = Date.now();
    const [a, b, c] = await readAll(engine, topic, 0);
    assert.equal(text(a.key), 'k1');
    assert.equal(text(a.value), 'v1');
    assert.equal(a.timestamp, T0 + 5);
    assert.equal(a.timestampType, 'CreateTime');
    assert.deepEqual(a.headers.map((h) => [h.key, h.value]), [['trace', Buffer.from('t-1')], ['kind', Buffer.from([0, 255])]]);
    assert.equal(text(b.key), 'tombstone');
    assert.equal(b.value, null);
    assert.equal(b.timestamp, T0 + 7);
    assert.deepEqual(b.headers, []);
    assert.equal(c.key, null);
    assert.equal(text(c.value), 'no-key');
    assert.ok(c.timestamp >= before && c.timestamp <= after, `a record without timestamp gets the append time (${c.timestamp} not in [${before}, ${after}])`);
  });

  s.it('append: acks 0, 1 and -1 all store the records', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-acks');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('one')], { acks: 1 });
    await engine.append(topic, 0, [record('all')], { acks: -1 });
    await engine.append(topic, 0, [record('none')], { acks: 0 });
    // acks=0 has no answer to wait for: a long poll at offset 2 returns once the record is there.
    const waited = await engine.fetch({ partitions: [{ topic, partition: 0, offset: 2 }], maxBytes: 1 << 20, maxWaitMs: 10_000, isolationLevel: 'read_uncommitted' });
    assert.deepEqual(waited.partitions[0].records.map((r) => text(r.value)), ['none']);
    assert.deepEqual((await readAll(engine, topic, 0)).map((r) => text(r.value)), ['one', 'all', 'none']);
  });

  s.it('append: acks 0 still reports the offsets', ['acksZeroOffsets'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-acks0');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('a')], { acks: 1 });
    const result = await engine.append(topic, 0, [record('b'), record('c')], { acks: 0 });
    assert.deepEqual([result.baseOffset, result.lastOffset], [1, 2]);
  });

  s.it('append: the result carries the batch max CreateTime', ['appendTimestamp'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-ts');
    await createTopic(topic, 1);
    const result = await engine.append(topic, 0, [record('a', { timestamp: T0 + 30 }), record('b', { timestamp: T0 + 10 })], { acks: 1 });
    assert.equal(result.timestamp, T0 + 30);
  });

  s.it('append: a header with a null value round-trips', ['nullHeaderValues'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-nullhdr');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('a', { headers: [{ key: 'empty', value: null }] })], { acks: 1 });
    const [a] = await readAll(engine, topic, 0);
    assert.deepEqual(a.headers, [{ key: 'empty', value: null }]);
  });

  s.it('append: unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION and creates nothing', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('produce-known');
    await createTopic(topic, 2);
    const missing = s.topicName('produce-missing');
    await rejectsWith(engine.append(missing, 0, [record('a')], { acks: 1 }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(engine.append(topic, 2, [record('a')], { acks: 1 }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(engine.append(topic, -1, [record('a')], { acks: 1 }), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(await engine.partitionCount(missing), undefined);
    assert.ok(!(await engine.listTopics()).includes(missing), 'a failed append must not create the topic');
  });

  s.it('append: a batch over max.message.bytes is RECORD_TOO_LARGE', ['topicAdmin', 'maxMessageBytes'], async () => {
    const { engine } = s.current;
    const topic = s.topicName('produce-large');
    await engine.createTopic({ name: topic, partitions: 1, configs: { 'max.message.bytes': '1024' } });
    await rejectsWith(engine.append(topic, 0, [record('x'.repeat(4096))], { acks: 1 }), 'RECORD_TOO_LARGE');
    await engine.append(topic, 0, [record('small')], { acks: 1 });
    assert.deepEqual((await readAll(engine, topic, 0)).map((r) => text(r.value)), ['small']);
  });
}
