import assert from 'node:assert/strict';
import type { SuiteContext } from './suite';
import { T0, record, rejectsWith } from './suite-helpers';

export function defineOffsetTests(s: SuiteContext): void {
  s.it('offsets: earliest and latest of an empty and a written partition', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('offsets-ends');
    await createTopic(topic, 2);
    assert.equal((await engine.listOffset(topic, 0, 'earliest')).offset, 0);
    assert.equal((await engine.listOffset(topic, 0, 'latest')).offset, 0);
    await engine.append(topic, 1, [record('a'), record('b'), record('c')], { acks: 1 });
    const earliest = await engine.listOffset(topic, 1, 'earliest');
    const latest = await engine.listOffset(topic, 1, 'latest');
    assert.deepEqual([earliest.offset, latest.offset], [0, 3]);
    assert.deepEqual([earliest.timestamp, latest.timestamp], [-1, -1]);
    assert.equal((await engine.listOffset(topic, 1, 'latest', 'read_committed')).offset, 3, 'without transactions the last stable offset is the high watermark');
    assert.equal((await engine.listOffset(topic, 0, 'latest')).offset, 0, 'partitions are independent');
  });

  s.it('offsets: by timestamp finds the first record at or after it', ['offsetsByTimestamp'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('offsets-time');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('a', { timestamp: T0 + 1000 }), record('b', { timestamp: T0 + 2000 })], { acks: 1 });
    await engine.append(topic, 0, [record('c', { timestamp: T0 + 3000 })], { acks: 1 });
    assert.deepEqual(await engine.listOffset(topic, 0, { timestamp: T0 }), { offset: 0, timestamp: T0 + 1000 });
    assert.deepEqual(await engine.listOffset(topic, 0, { timestamp: T0 + 2000 }), { offset: 1, timestamp: T0 + 2000 });
    assert.deepEqual(await engine.listOffset(topic, 0, { timestamp: T0 + 2500 }), { offset: 2, timestamp: T0 + 3000 });
    assert.equal((await engine.listOffset(topic, 0, { timestamp: T0 + 9000 })).offset, -1, 'nothing at or after: -1');
  });

  s.it('offsets: unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('offsets-known');
    await createTopic(topic, 1);
    await rejectsWith(engine.listOffset(s.topicName('offsets-missing'), 0, 'latest'), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(engine.listOffset(topic, 1, 'earliest'), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
}
