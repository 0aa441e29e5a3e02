import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from './engine-fixture';
import { isCoordinatorError } from '../../../src/coordinator/group/coordinator-error';
import { partitionForGroup } from '../../../src/coordinator/group/embedded-group-coordinator';
import type { Assignment, GroupCoordinator, JoinGroupRequest } from '../../../src/coordinator/group/group-coordinator';

/** A hand-driven member: counts rebalance notifications and can wait for the next one. */
function member(clientId: string, overrides: Partial<JoinGroupRequest> = {}) {
  let notified = 0;
  let waiters: Array<() => void> = [];
  const request: JoinGroupRequest = {
    groupId: 'g',
    memberId: '',
    clientId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 5_000,
    protocols: [{ name: 'range', subscription: { topics: ['t'] } }],
    listener: {
      onRebalance() {
        notified++;
        for (const w of waiters) w();
        waiters = [];
      },
    },
    ...overrides,
  };
  return {
    request,
    get notified() {
      return notified;
    },
    nextRebalance: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

const assignment = (...partitions: number[]): Assignment => ({ partitions: partitions.map((p) => ({ topic: 't', partition: p })), partitionCounts: { t: 3 } });

function rejects(code: string) {
  return (err: unknown) => isCoordinatorError(err) && err.code === code;
}

async function joinAlone(coordinator: GroupCoordinator, m: ReturnType<typeof member>) {
  const join = await coordinator.joinGroup(m.request);
  m.request.memberId = join.memberId;
  await coordinator.syncGroup({
    groupId: m.request.groupId,
    memberId: join.memberId,
    generationId: join.generationId,
    assignments: [{ memberId: join.memberId, assignment: assignment(0, 1, 2) }],
  });
  return join;
}

test('join, sync and a second member: the first is told to rejoin, a new generation starts, the leader assigns', async (t) => {
  const { coordinator } = await startCoordinator(t);
  const a = member('a');
  const first = await joinAlone(coordinator, a);
  assert.equal(first.generationId, 1);
  assert.equal(first.leaderId, first.memberId);
  assert.deepEqual(first.members.map((m) => m.clientId), ['a']);
  assert.equal((await coordinator.describeGroup('g')).state, 'Stable');

  const b = member('b');
  const rebalance = a.nextRebalance();
  const bJoin = coordinator.joinGroup(b.request);
  await rebalance;
  assert.equal((await coordinator.describeGroup('g')).state, 'PreparingRebalance');
  await assert.rejects(coordinator.heartbeat({ groupId: 'g', memberId: a.request.memberId, generationId: 1 }), rejects('REBALANCE_IN_PROGRESS'));
  const aJoin = await coordinator.joinGroup(a.request);
  const bJoined = await bJoin;
  assert.equal(aJoin.generationId, 2);
  assert.equal(bJoined.generationId, 2);
  assert.equal(aJoin.leaderId, a.request.memberId, 'the existing leader stays leader');
  assert.equal(aJoin.members.length, 2, 'the leader sees every member');
  assert.equal(bJoined.members.length, 0, 'followers do not');

  const bSync = coordinator.syncGroup({ groupId: 'g', memberId: bJoined.memberId, generationId: 2, assignments: [] });
  assert.equal((await coordinator.describeGroup('g')).state, 'CompletingRebalance');
  const aSync = await coordinator.syncGroup({
    groupId: 'g',
    memberId: aJoin.memberId,
    generationId: 2,
    assignments: [
      { memberId: aJoin.memberId, assignment: assignment(0, 1) },
      { memberId: bJoined.memberId, assignment: assignment(2) },
    ],
  });
  assert.deepEqual(aSync.assignment.partitions.map((p) => p.partition), [0, 1]);
  assert.deepEqual((await bSync).assignment.partitions.map((p) => p.partition), [2]);
  const described = await coordinator.describeGroup('g');
  assert.equal(described.state, 'Stable');
  assert.equal(described.generationId, 2);
  assert.deepEqual(described.members.map((m) => [m.clientId, m.assignment.map((p) => p.partition)]), [['a', [0, 1]], ['b', [2]]]);
});

test("offset commits are checked against the member's generation: a stale member is refused", async (t) => {
  const { coordinator } = await startCoordinator(t);
  const a = member('a');
  await joinAlone(coordinator, a);
  const b = member('b');
  const rebalance = a.nextRebalance();
  const bJoin = coordinator.joinGroup(b.request);
  await rebalance;
  // During PreparingRebalance the current generation may still commit (the revoking member's commit).
  await coordinator.commitOffsets({ groupId: 'g', memberId: a.request.memberId, generationId: 1, offsets: [{ topic: 't', partition: 0, offset: 5, metadata: '' }] });
  await coordinator.joinGroup(a.request);
  const bJoined = await bJoin;
  await Promise.all([
    coordinator.syncGroup({ groupId: 'g', memberId: a.request.memberId, generationId: 2, assignments: [] }),
    coordinator.syncGroup({ groupId: 'g', memberId: bJoined.memberId, generationId: 2, assignments: [] }),
  ]);
  await assert.rejects(
    coordinator.commitOffsets({ groupId: 'g', memberId: a.request.memberId, generationId: 1, offsets: [{ topic: 't', partition: 0, offset: 9, metadata: '' }] }),
    (err: unknown) => rejects('ILLEGAL_GENERATION')(err) && /generation 1 .* generation 2/.test((err as Error).message),
  );
  await assert.rejects(
    coordinator.commitOffsets({ groupId: 'g', memberId: 'nobody', generationId: 2, offsets: [{ topic: 't', partition: 0, offset: 9, metadata: '' }] }),
    rejects('UNKNOWN_MEMBER_ID'),
  );
  await assert.rejects(
    coordinator.commitOffsets({ groupId: 'g', memberId: '', generationId: -1, offsets: [{ topic: 't', partition: 0, offset: 9, metadata: '' }] }),
    rejects('UNKNOWN_MEMBER_ID'),
    'a consumer outside the membership cannot commit while the group has members',
  );
  const [committed] = await coordinator.fetchOffsets('g', [{ topic: 't', partition: 0 }]);
  assert.equal(committed?.offset, 5, 'refused commits changed nothing');
  await coordinator.commitOffsets({ groupId: 'g', memberId: a.request.memberId, generationId: 2, offsets: [{ topic: 't', partition: 0, offset: 9, metadata: 'm' }] });
  assert.deepEqual(
    (await coordinator.fetchOffsets('g', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])).map((o) => [o.offset, o.metadata]),
    [[9, 'm'], [-1, '']],
  );
});

test('a member that does not rejoin within the rebalance timeout is removed; a silent member expires', async (t) => {
  const { coordinator } = await startCoordinator(t, { sessionCheckIntervalMs: 10 });
  const a = member('a', { rebalanceTimeoutMs: 100 });
  await joinAlone(coordinator, a);
  const b = member('b', { rebalanceTimeoutMs: 100 });
  const bJoined = await coordinator.joinGroup(b.request); // a never answers its notification
  assert.equal(bJoined.generationId, 2);
  assert.equal(bJoined.leaderId, bJoined.memberId, 'a was removed, b leads');
  assert.equal(a.notified, 1);
  await assert.rejects(coordinator.heartbeat({ groupId: 'g', memberId: a.request.memberId, generationId: 1 }), rejects('UNKNOWN_MEMBER_ID'));
  await coordinator.syncGroup({ groupId: 'g', memberId: bJoined.memberId, generationId: 2, assignments: [] });

  const c = member('c', { groupId: 'h', sessionTimeoutMs: 50 });
  await joinAlone(coordinator, c);
  const deadline = Date.now() + 5000;
  while ((await coordinator.describeGroup('h')).members.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const h = await coordinator.describeGroup('h');
  assert.equal(h.members.length, 0, 'expired after its session');
  assert.equal(h.state, 'Empty');
});

test('assignors must be shared by every member; the group votes for the preferred common one', async (t) => {
  const { coordinator } = await startCoordinator(t);
  const a = member('a', { protocols: [{ name: 'range', subscription: { topics: ['t'] } }] });
  await joinAlone(coordinator, a);
  const b = member('b', { protocols: [{ name: 'roundrobin', subscription: { topics: ['t'] } }] });
  await assert.rejects(coordinator.joinGroup(b.request), rejects('INCONSISTENT_GROUP_PROTOCOL'));
  assert.equal((await coordinator.describeGroup('g')).state, 'Stable', 'the refused join left the group as it was');

  const x = member('x', { groupId: 'v', protocols: [{ name: 'roundrobin', subscription: { topics: ['t'] } }, { name: 'range', subscription: { topics: ['t'] } }] });
  const y = member('y', { groupId: 'v', protocols: [{ name: 'roundrobin', subscription: { topics: ['t'] } }, { name: 'range', subscription: { topics: ['t'] } }] });
  const xJoin = await coordinator.joinGroup(x.request);
  x.request.memberId = xJoin.memberId;
  await coordinator.syncGroup({ groupId: 'v', memberId: xJoin.memberId, generationId: xJoin.generationId, assignments: [] });
  const yJoin = coordinator.joinGroup(y.request);
  await x.nextRebalance();
  const [xj] = await Promise.all([coordinator.joinGroup(x.request), yJoin]);
  assert.equal(xj.protocolName, 'roundrobin');
});

test('committed offsets and the generation survive a restart; delete needs an empty group and is durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'basket-coord-'));
  const closers: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const close of closers) await close();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = await startCoordinator(t, {}, dir);
  closers.push(first.close);
  const a = member('a');
  const join1 = await joinAlone(first.coordinator, a);
  await first.coordinator.commitOffsets({ groupId: 'g', memberId: join1.memberId, generationId: 1, offsets: [{ topic: 't', partition: 2, offset: 42, metadata: 'x' }] });
  await first.coordinator.resetOffsets('other', [{ topic: 't', partition: 0, offset: 7, metadata: '' }]);
  await first.coordinator.resetOffsets('doomed', [{ topic: 't', partition: 0, offset: 1, metadata: '' }]);
  await assert.rejects(first.coordinator.deleteGroup('g'), rejects('NON_EMPTY_GROUP'));
  await assert.rejects(first.coordinator.resetOffsets('g', [{ topic: 't', partition: 2, offset: 0, metadata: '' }]), rejects('NON_EMPTY_GROUP'));
  await first.coordinator.deleteGroup('doomed');
  await assert.rejects(first.coordinator.describeGroup('doomed'), rejects('GROUP_ID_NOT_FOUND'));
  await first.coordinator.leaveGroup('g', join1.memberId);
  const empty = await first.coordinator.describeGroup('g');
  assert.equal(empty.state, 'Empty');
  assert.equal(empty.generationId, 2, 'the last member leaving completes a rebalance to Empty');
  await first.close();

  const second = await startCoordinator(t, {}, dir);
  closers.push(second.close);
  const g = await second.coordinator.describeGroup('g');
  assert.equal(g.state, 'Empty');
  assert.equal(g.generationId, 2);
  assert.deepEqual(g.offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata]), [['t', 2, 42, 'x']]);
  assert.equal((await second.coordinator.fetchOffsets('other'))[0]?.offset, 7);
  await assert.rejects(second.coordinator.describeGroup('doomed'), rejects('GROUP_ID_NOT_FOUND'));
  assert.deepEqual((await second.coordinator.listGroups()).map((o) => o.groupId), ['g', 'other']);
  const rejoined = await second.coordinator.joinGroup(member('b').request);
  assert.equal(rejoined.generationId, 3, 'generations continue after a restart');
});

test("a group's records go to Kafka's partition for it: abs(Java hashCode) modulo the count", () => {
  // Values printed by Java's String.hashCode (java 17): my-group -1906497762, consumer-group-7 147483026,
  // grüße-€ 426799350; Kafka's partition is (hash & 0x7fffffff) % 50.
  assert.equal(partitionForGroup('my-group', 50), 36);
  assert.equal(partitionForGroup('consumer-group-7', 50), 26);
  assert.equal(partitionForGroup('grüße-€', 50), 0);
});
