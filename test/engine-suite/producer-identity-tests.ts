import assert from 'node:assert/strict';
import type { ProducerBatchIdentity } from '../../src/engine/storage-engine';
import type { SuiteContext } from './suite';
import { readAll, record, text } from './suite-helpers';

/**
 * Appends under a producer identity the caller chose itself, as a keyed produce derives one from
 * its Idempotency-Key: an id in a high range that no allocateProducerIds hands out (2^52 and up),
 * epoch 0, sequence 0 on each partition. A retry of the key sends the same identity and records.
 */
const CALLER_ID = 2 ** 52 + 0x5eed;

function caller(id: number, baseSequence = 0): ProducerBatchIdentity {
  return { producerId: id, producerEpoch: 0, baseSequence };
}

export function defineProducerIdentityTests(s: SuiteContext): void {
  s.it("append: a caller's producer identity that was never allocated is accepted at sequence 0 on every partition", [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('caller-pid');
    await createTopic(topic, 2);
    const a = await engine.append(topic, 0, [record('a0'), record('a1')], { acks: -1, producer: caller(CALLER_ID) });
    const b = await engine.append(topic, 1, [record('b0')], { acks: -1, producer: caller(CALLER_ID) });
    const c = await engine.append(topic, 0, [record('c0')], { acks: -1, producer: caller(CALLER_ID + 1) });
    assert.deepEqual([a.baseOffset, a.lastOffset, b.baseOffset, c.baseOffset], [0, 1, 0, 2]);
    assert.deepEqual((await readAll(engine, topic, 0)).map((r) => text(r.value)), ['a0', 'a1', 'c0']);
    assert.deepEqual((await readAll(engine, topic, 1)).map((r) => text(r.value)), ['b0']);
  });

  s.it("append: a repeat of a caller identity's batch is answered with the first append's offsets and stored once", ['producerDedup'], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('caller-dedup');
    await createTopic(topic, 1);
    const first = await engine.append(topic, 0, [record('k1'), record('k2')], { acks: -1, producer: caller(CALLER_ID) });
    await engine.append(topic, 0, [record('between')], { acks: 1 });
    const repeat = await engine.append(topic, 0, [record('k1'), record('k2')], { acks: -1, producer: caller(CALLER_ID) });
    assert.deepEqual([repeat.baseOffset, repeat.lastOffset], [first.baseOffset, first.lastOffset]);
    // Another key's producer at sequence 0 is a new batch, and the first one still answers after it.
    const other = await engine.append(topic, 0, [record('other')], { acks: -1, producer: caller(CALLER_ID + 1) });
    assert.equal(other.baseOffset, 3);
    const again = await engine.append(topic, 0, [record('k1'), record('k2')], { acks: 1, producer: caller(CALLER_ID) });
    assert.deepEqual([again.baseOffset, again.lastOffset], [first.baseOffset, first.lastOffset]);
    assert.deepEqual((await readAll(engine, topic, 0)).map((r) => text(r.value)), ['k1', 'k2', 'between', 'other']);
  });
}
