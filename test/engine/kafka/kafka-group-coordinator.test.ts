import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCoordinatorError } from '../../../src/coordinator/group/coordinator-error';
import type { Assignment } from '../../../src/coordinator/group/group-coordinator';
import { isEngineError } from '../../../src/engine/engine-error';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { handMember, joinAndSync, rebalance, topicAssignment } from '../../engine-suite/group-helpers';
import { MOCK_GROUP_SETTINGS, mockEngineOptions, startKafkaGroups, testLogger } from './kafka-group-fixture';
import { onTeardown } from '../../teardown';

/**
 * KafkaGroupCoordinator on librdkafka's mock cluster, driven by hand as the consumer layer drives
 * it: the heartbeat loop tells members of rebalances, generations fence stale commits, forgotten
 * members leave, and what the mock does not offer fails at once with a clear error.
 */
const TIMEOUT = { timeout: 40_000 };

const assignment = (...partitions: number[]): Assignment => topicAssignment('t', 3, ...partitions);

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<Error> {
  let caught: unknown;
  await promise.catch((err: unknown) => (caught = err));
  assert.ok(caught !== undefined, `expected ${code}, but the call succeeded`);
  const actual = (caught as { code?: string }).code;
  assert.equal(actual, code, `expected ${code}, got ${String(caught)}`);
  return caught as Error;
}

const member = (groupId: string, clientId: string, sessionTimeoutMs?: number) => handMember(groupId, clientId, ['t'], sessionTimeoutMs);

test('a second member: the first learns of the rebalance from its heartbeats alone, both get a new generation, stale commits are refused', TIMEOUT, async (t) => {
  const { mock, coordinator } = await startKafkaGroups(t);
  await mock.createTopic('t', 3, 3);
  const a = member('g1', 'a');
  const b = member('g1', 'b');

  const first = await joinAndSync(coordinator, a, (ids) => [{ memberId: ids[0], assignment: assignment(0, 1, 2) }]);
  assert.deepEqual(first.sync.assignment, assignment(0, 1, 2), 'a Basket leader hands partition counts over with the assignment');
  await coordinator.commitOffsets({ groupId: 'g1', memberId: first.join.memberId, generationId: first.join.generationId, offsets: [{ topic: 't', partition: 0, offset: 5, metadata: 'm' }] });

  // b joins; nothing is asked of a, whose heartbeat loop must hear of the rebalance and tell it.
  const told = a.nextRebalance();
  const bJoined = joinAndSync(coordinator, b, () => []);
  await told;
  assert.equal(a.notified, 1);
  const split = (ids: string[]) => ids.map((id, i) => ({ memberId: id, assignment: i === 0 ? assignment(0, 1) : assignment(2) }));
  const [a2, b2] = await rebalance(coordinator, [a, b], split, bJoined);
  assert.equal(a2.join.generationId, b2.join.generationId);
  assert.ok(a2.join.generationId > first.join.generationId);
  assert.equal(a2.join.leaderId, a2.join.memberId, 'the mock elects the first member to join');
  assert.deepEqual(a2.join.members.map((m) => m.subscription), [{ topics: ['t'] }, { topics: ['t'] }], "the leader sees every member's subscription");
  const shares = [a2.sync.assignment.partitions, b2.sync.assignment.partitions].map((ps) => ps.map((p) => p.partition));
  assert.deepEqual(shares, [[0, 1], [2]]);

  await rejectsWithCode(
    coordinator.commitOffsets({ groupId: 'g1', memberId: a2.join.memberId, generationId: first.join.generationId, offsets: [{ topic: 't', partition: 0, offset: 9, metadata: '' }] }),
    'ILLEGAL_GENERATION',
  );
  await coordinator.commitOffsets({ groupId: 'g1', memberId: b2.join.memberId, generationId: b2.join.generationId, offsets: [{ topic: 't', partition: 2, offset: 3, metadata: '' }] });
  const committed = await coordinator.fetchOffsets('g1', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }]);
  assert.deepEqual(
    committed.map((c) => [c.partition, c.offset, c.metadata]),
    [
      [0, 5, 'm'],
      [1, -1, ''],
      [2, 3, ''],
    ],
    'the refused commit changed nothing',
  );
  assert.deepEqual(await coordinator.fetchOffsets('g1', [{ topic: 'no-such-topic', partition: 0 }]), [
    { topic: 'no-such-topic', partition: 0, offset: -1, metadata: '', commitTimestamp: -1 },
  ]);

  // b leaves: a is told again and ends up alone.
  const toldAgain = a.nextRebalance();
  await coordinator.leaveGroup('g1', b2.join.memberId);
  await toldAgain;
  const alone = await joinAndSync(coordinator, a, (ids) => [{ memberId: ids[0], assignment: assignment(0, 1, 2) }]);
  assert.equal(alone.join.members.length, 1);
  await rejectsWithCode(coordinator.heartbeat({ groupId: 'g1', memberId: b2.join.memberId, generationId: b2.join.generationId }), 'UNKNOWN_MEMBER_ID');
});

test('a member its owner no longer uses leaves the group once the session it asked for runs out', TIMEOUT, async (t) => {
  const { mock, engine, coordinator } = await startKafkaGroups(t);
  await mock.createTopic('t', 3, 3);
  // The session the consumer layer asks for is 4.5 s; nothing touches the member after its sync.
  const forgotten = member('g2', 'forgotten', 4500);
  const { join } = await joinAndSync(coordinator, forgotten, (ids) => [{ memberId: ids[0], assignment: assignment(0, 1, 2) }]);
  // Probed from another coordinator, which does not know the member: probing through its own would
  // count as using it. Until it leaves, Kafka keeps it (its own coordinator heartbeats for it).
  const observer = engine.groupCoordinator(MOCK_GROUP_SETTINGS);
  onTeardown(t, () => observer.close());
  const ref = { groupId: 'g2', memberId: join.memberId, generationId: join.generationId };
  const alive = () => observer.heartbeat(ref).then(() => true, (err: unknown) => (isCoordinatorError(err, 'UNKNOWN_MEMBER_ID') ? false : Promise.reject(err)));
  assert.equal(await alive(), true, 'a member is kept alive by its heartbeat loop between calls');
  const deadline = Date.now() + 15_000;
  while ((await alive()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.equal(await alive(), false, 'the member left the group');
  assert.equal(forgotten.notified, 0, 'an expired member is not asked to rejoin; its owner, if any, learns on its next call');
});

test('group administration the mock cluster lacks fails at once, naming the API', TIMEOUT, async (t) => {
  const { coordinator } = await startKafkaGroups(t, 1);
  for (const [call, api] of [
    [() => coordinator.describeGroup('g'), 'DescribeGroups'],
    [() => coordinator.listGroups(), 'ListGroups'],
    [() => coordinator.deleteGroup('g'), 'DeleteGroups'],
  ] as const) {
    const err = await rejectsWithCode(call(), 'UNSUPPORTED_VERSION');
    assert.ok(isEngineError(err) && !err.retriable);
    assert.match(err.message, new RegExp(`does not offer the ${api} API`));
  }
});

test('while the cluster is unreachable, group calls fail at once with COORDINATOR_NOT_AVAILABLE', TIMEOUT, async () => {
  const mock = await MockCluster.start(1);
  const brokers = mock.brokers;
  await mock.stop();
  const engine = new KafkaEngine({ ...mockEngineOptions(brokers, 'down-test'), retry: { retries: 0, initialRetryTime: 50, maxRetryTime: 500 } }, testLogger);
  const coordinator = engine.groupCoordinator(MOCK_GROUP_SETTINGS);
  try {
    await engine.start();
    assert.equal(engine.health().status, 'DOWN');
    await rejectsWithCode(coordinator.start(), 'COORDINATOR_NOT_AVAILABLE');
    const err = await rejectsWithCode(coordinator.joinGroup(member('g', 'x').request), 'COORDINATOR_NOT_AVAILABLE');
    assert.ok(isCoordinatorError(err) && err.retriable);
    await rejectsWithCode(coordinator.fetchOffsets('g', [{ topic: 't', partition: 0 }]), 'COORDINATOR_NOT_AVAILABLE');
  } finally {
    await coordinator.close();
    await engine.close();
  }
});
