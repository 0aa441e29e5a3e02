import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignerProtocol } from 'kafkajs';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, PARTITION_COUNTS_KEY } from '../../../src/engine/kafka/kafka-group-protocol';

/** Kafka's consumer protocol bytes, checked against another client's codec (kafkajs's AssignerProtocol) and Kafka's grammar. */

test('a subscription is ConsumerProtocolSubscription v0: version, topics, null user data', () => {
  const bytes = encodeSubscription({ topics: ['orders', 'é'] });
  const expected = Buffer.concat([
    Buffer.from([0, 0]), // version 0
    Buffer.from([0, 0, 0, 2]), // 2 topics
    Buffer.from([0, 6]),
    Buffer.from('orders'),
    Buffer.from([0, 2]),
    Buffer.from('é'), // two UTF-8 bytes
    Buffer.from([0xff, 0xff, 0xff, 0xff]), // null user data
  ]);
  assert.deepEqual(bytes, expected);
  assert.deepEqual(AssignerProtocol.MemberMetadata.decode(bytes), { version: 0, topics: ['orders', 'é'], userData: null });
  assert.deepEqual(decodeSubscription(bytes), { topics: ['orders', 'é'] });
});

test("other clients' subscriptions decode, later versions' extra fields skipped", () => {
  const kafkajs = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['a', 'b'], userData: Buffer.from('x') });
  assert.deepEqual(decodeSubscription(kafkajs), { topics: ['a', 'b'] });
  // v1 (Java since 2.4): owned partitions follow the user data.
  const v1 = Buffer.concat([
    Buffer.from([0, 1, 0, 0, 0, 1, 0, 1]),
    Buffer.from('t'),
    Buffer.from([0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0, 0, 0, 1, 0, 1]),
    Buffer.from('t'),
    Buffer.from([0, 0, 0, 1, 0, 0, 0, 3]),
  ]);
  assert.deepEqual(decodeSubscription(v1), { topics: ['t'] });
  assert.deepEqual(decodeSubscription(Buffer.alloc(0)), { topics: [] });
  assert.throws(() => decodeSubscription(Buffer.from([0, 0, 0, 0, 0, 9, 0])), /Malformed consumer protocol subscription/);
});

test('an assignment carries the partitions by topic and the partition counts in user data; other clients read the partitions', () => {
  const assignment = {
    partitions: [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 2 },
      { topic: 'a', partition: 3 },
    ],
    partitionCounts: { a: 4, b: 3 },
  };
  const bytes = encodeAssignment(assignment);
  const other = AssignerProtocol.MemberAssignment.decode(bytes);
  assert.deepEqual(other?.assignment, { a: [0, 3], b: [2] });
  assert.deepEqual(JSON.parse((other?.userData as Buffer).toString()), { [PARTITION_COUNTS_KEY]: { a: 4, b: 3 } });
  assert.deepEqual(decodeAssignment(bytes), {
    partitions: [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 3 },
      { topic: 'b', partition: 2 },
    ],
    partitionCounts: { a: 4, b: 3 },
  });
});

test("another leader's assignment decodes without partition counts; an empty one is no partitions", () => {
  const foreign = AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { t: [1, 2] }, userData: Buffer.from([1, 2, 3]) });
  assert.deepEqual(decodeAssignment(foreign), {
    partitions: [
      { topic: 't', partition: 1 },
      { topic: 't', partition: 2 },
    ],
    partitionCounts: undefined,
  });
  const jsonButNotOurs = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { t: [0] }, userData: Buffer.from('{"x":1}') });
  assert.equal(decodeAssignment(jsonButNotOurs).partitionCounts, undefined);
  assert.deepEqual(decodeAssignment(Buffer.alloc(0)), { partitions: [], partitionCounts: undefined });
  assert.deepEqual(decodeAssignment(null), { partitions: [], partitionCounts: undefined });
});
