import assert from 'node:assert/strict';
import { isCoordinatorError } from '../../src/coordinator/group/coordinator-error';
import type { ConsumerInstance } from '../../src/consumer/consumer-instance';
import { eventually, handMember, instance, joinAndSync, partitionsOf, poll, produceToEach, rebalance, topicAndGroup, topicAssignment, type Delivered } from './group-helpers';
import type { SuiteContext } from './suite';
import { record } from './suite-helpers';

/**
 * Consumer groups on the engine's group coordinator, through the consumer layer both engines share
 * (consumer instances, as the HTTP API drives them) and, for generations, the coordinator API itself.
 */
export function defineGroupTests(s: SuiteContext): void {
  s.it('groups: two members split a 3-partition topic, each record once; a leave hands its partitions over', [], async () => {
    const { delivered, afterLeave } = await splitThenLeave(s);
    assert.deepEqual(delivered.map((r) => r.value).sort(), ['first-p0-0', 'first-p0-1', 'first-p1-0', 'first-p1-1', 'first-p2-0', 'first-p2-1']);
    const second = afterLeave.filter((r) => r.value.startsWith('second-'));
    assert.deepEqual(second.map((r) => r.value).sort(), ['second-p0-0', 'second-p1-0', 'second-p2-0']);
  });

  s.it('groups: members commit before their partitions move, so a rebalance delivers nothing twice', ['commitDuringRebalance'], async () => {
    const { afterLeave } = await splitThenLeave(s);
    assert.deepEqual(afterLeave.map((r) => r.value).sort(), ['second-p0-0', 'second-p1-0', 'second-p2-0']);
  });

  s.it('groups: committed offsets survive a member restart', [], async () => {
    const { engine, topic, group } = await topicAndGroup(s, 'restart', 2, 2);
    const before = s.groups.consumers(await s.groups.coordinator());
    const a = instance(before, group, 'a', { 'auto.commit.enable': 'false' });
    await a.subscribe([topic], undefined);
    assert.equal((await readUntil([a], 4)).length, 4);
    await a.commit();
    // The process restarts: instances and coordinator go; the group's offsets stay where the coordinator keeps them.
    await s.groups.close();

    await produceToEach(engine, topic, 2, 1, 'second');
    const after = s.groups.consumers(await s.groups.coordinator());
    const b = instance(after, group, 'b');
    await b.subscribe([topic], undefined);
    const committed = await b.committed([{ topic, partition: 0 }, { topic, partition: 1 }]);
    assert.deepEqual(committed.map((c) => c.offset), [2, 2]);
    const resumed = await readUntil([b], 2);
    assert.deepEqual(resumed.map((r) => `${r.partition}:${r.offset}:${r.value}`).sort(), ['0:2:second-p0-0', '1:2:second-p1-0']);
  });

  s.it('groups: a commit from a stale generation is refused', [], async () => {
    const { topic, group } = await topicAndGroup(s, 'generation', 3);
    const coordinator = await s.groups.coordinator();
    const a = handMember(group, 'a', [topic]);
    const b = handMember(group, 'b', [topic]);
    const all = (ids: string[]) => [{ memberId: ids[0], assignment: topicAssignment(topic, 3, 0, 1, 2) }];
    const split = (ids: string[]) => ids.map((memberId, i) => ({ memberId, assignment: i === 0 ? topicAssignment(topic, 3, 0, 1) : topicAssignment(topic, 3, 2) }));

    const first = await joinAndSync(coordinator, a, all);
    const told = a.nextRebalance();
    const bJoined = joinAndSync(coordinator, b, split);
    await told; // a hears of b's join without asking
    const [a2, b2] = await rebalance(coordinator, [a, b], split, bJoined);
    assert.ok(a2.join.generationId > first.join.generationId);
    assert.equal(a2.join.generationId, b2.join.generationId);

    const commit = (generationId: number, offset: number) =>
      coordinator.commitOffsets({ groupId: group, memberId: a2.join.memberId, generationId, offsets: [{ topic, partition: 0, offset, metadata: '' }] });
    await assert.rejects(commit(first.join.generationId, 7), (err: unknown) => isCoordinatorError(err, 'ILLEGAL_GENERATION'));
    await commit(a2.join.generationId, 5);
    const [committed] = await coordinator.fetchOffsets(group, [{ topic, partition: 0 }]);
    assert.equal(committed.offset, 5, 'only the current generation committed');
  });

  s.it('groups: without a committed offset, auto.offset.reset earliest starts at the log start and latest at the end', [], async () => {
    const { engine, topic } = await topicAndGroup(s, 'reset', 1);
    await engine.append(topic, 0, [record('old-1'), record('old-2')], { acks: 1 });
    const manager = s.groups.consumers(await s.groups.coordinator());
    const earliest = instance(manager, s.topicName('earliest'), 'e', { 'auto.offset.reset': 'earliest' });
    const latest = instance(manager, s.topicName('latest'), 'l', { 'auto.offset.reset': 'latest' });
    await Promise.all([earliest.subscribe([topic], undefined), latest.subscribe([topic], undefined)]);
    // Positions resolve on the first read: this one fixes "latest" before anything new is written.
    assert.deepEqual(await poll(latest, 100), []);
    await engine.append(topic, 0, [record('new')], { acks: 1 });
    assert.deepEqual((await readUntil([earliest], 3)).map((r) => r.value), ['old-1', 'old-2', 'new']);
    assert.deepEqual((await readUntil([latest], 1)).map((r) => r.value), ['new']);
  });
}

/**
 * Two members of a group split a 3-partition topic and read what was written; then one leaves and
 * the other, now holding every partition, reads until the records written after the leave arrived.
 * `afterLeave` is everything the remaining member got then: records it or the leaver had consumed
 * come again unless both committed before giving their partitions up.
 */
async function splitThenLeave(s: SuiteContext): Promise<{ delivered: Delivered[]; afterLeave: Delivered[] }> {
  const { engine, topic, group } = await topicAndGroup(s, 'split', 3, 2);
  const manager = s.groups.consumers(await s.groups.coordinator());
  const a = instance(manager, group, 'a');
  const b = instance(manager, group, 'b');

  await a.subscribe([topic], undefined);
  assert.deepEqual(partitionsOf(a), [0, 1, 2], 'alone, a member gets every partition');
  await b.subscribe([topic], undefined);
  await eventually('the members split the partitions', () => {
    const [pa, pb] = [partitionsOf(a), partitionsOf(b)];
    return pa.length > 0 && pb.length > 0 && new Set([...pa, ...pb]).size === 3 && pa.length + pb.length === 3;
  });
  assert.deepEqual([partitionsOf(a).length, partitionsOf(b).length].sort(), [1, 2], 'the range assignor gives 2 and 1');
  const delivered = await readUntil([a, b], 6);

  // b leaves, committing what it consumed (auto-commit commits before partitions are given up).
  await manager.delete(group, 'b');
  await eventually('the member left holds every partition', () => partitionsOf(a).length === 3);
  await produceToEach(engine, topic, 3, 1, 'second');
  const afterLeave = await readUntil([a], 3, (got) => got.filter((r) => r.value.startsWith('second-')).length === 3);
  return { delivered, afterLeave };
}

/**
 * Polls the instances in turn until `count` records arrived in all (or, given `done`, until it
 * holds), checking that no record is delivered twice; bounded by a deadline. Without `done`, more
 * than `count` records fail the check.
 */
export async function readUntil(instances: ConsumerInstance[], count: number, done?: (got: Delivered[]) => boolean, timeoutMs = 15_000): Promise<Delivered[]> {
  const seen = new Map<string, Delivered>();
  const deadline = Date.now() + timeoutMs;
  while (done === undefined ? seen.size < count : !done([...seen.values()])) {
    if (Date.now() > deadline) assert.fail(`only ${seen.size} of ${count} records arrived: ${[...seen.keys()].join(', ')}`);
    for (const i of instances) {
      for (const r of await poll(i, 200)) {
        const key = `${r.partition}:${r.offset}`;
        assert.ok(!seen.has(key), `record ${key} delivered twice (again to ${i.name})`);
        seen.set(key, r);
      }
    }
  }
  if (done === undefined) assert.equal(seen.size, count, 'more records than written');
  return [...seen.values()];
}
