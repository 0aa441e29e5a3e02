import assert from 'node:assert/strict';
import { ApiError } from '../../src/errors';
import { GroupAdmin } from '../../src/consumer/group-admin';
import { instance, topicAndGroup } from './group-helpers';
import { readUntil } from './group-tests';
import type { SuiteContext } from './suite';

/** Group administration and commits outside group membership, which not every cluster offers. */
export function defineGroupAdminTests(s: SuiteContext): void {
  s.it('groups: a consumer outside the group commits only while the group has no members', ['memberlessCommits'], async () => {
    const { topic, group } = await topicAndGroup(s, 'outside', 1, 3);
    const manager = s.groups.consumers(await s.groups.coordinator());
    const member = instance(manager, group, 'member');
    await member.subscribe([topic], undefined);
    assert.equal((await readUntil([member], 3)).length, 3);
    const outsider = instance(manager, group, 'outsider', { 'auto.commit.enable': 'false' });
    await outsider.assign([{ topic, partition: 0 }]);

    await assert.rejects(outsider.commit([{ topic, partition: 0, offset: 1, metadata: '' }]), (err: unknown) => err instanceof ApiError && err.kind === 'ILLEGAL_STATE');
    await manager.delete(group, 'member'); // commits 3 as it leaves
    assert.deepEqual((await outsider.committed([{ topic, partition: 0 }])).map((c) => c.offset), [3]);
    await outsider.commit([{ topic, partition: 0, offset: 1, metadata: 'by hand' }]);
    assert.deepEqual((await outsider.committed([{ topic, partition: 0 }])).map((c) => [c.offset, c.metadata]), [[1, 'by hand']]);
  });

  s.it("groups: committed offsets without naming partitions are every partition the group committed", ['offsetFetchAll'], async () => {
    const { topic, group } = await topicAndGroup(s, 'all-offsets', 3);
    const manager = s.groups.consumers(await s.groups.coordinator());
    const member = instance(manager, group, 'member', { 'auto.commit.enable': 'false' });
    await member.subscribe([topic], undefined);
    await member.commit([
      { topic, partition: 0, offset: 4, metadata: '' },
      { topic, partition: 2, offset: 9, metadata: '' },
    ]);
    const all = await member.committed(undefined);
    assert.deepEqual(all.map((c) => [c.topic, c.partition, c.offset]).sort(), [
      [topic, 0, 4],
      [topic, 2, 9],
    ]);
  });

  s.it('group admin: describe with lag, list, delete only an empty group, reset only without members', ['groupAdmin', 'memberlessCommits'], async () => {
    const { engine, topic, group } = await topicAndGroup(s, 'admin', 2, 3);
    const coordinator = await s.groups.coordinator();
    const admin = new GroupAdmin(engine, coordinator);
    const manager = s.groups.consumers(coordinator);
    const member = instance(manager, group, 'member', { 'auto.commit.enable': 'false' });
    await member.subscribe([topic], undefined);
    await member.commit([{ topic, partition: 0, offset: 1, metadata: '' }]);

    const described = await admin.describe(group);
    assert.equal(described.state, 'Stable');
    assert.deepEqual(described.members.map((m) => [m.clientId, m.subscription.topics, m.assignment.map((tp) => tp.partition)]), [['member', [topic], [0, 1]]]);
    assert.deepEqual(
      described.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag, p.clientId]),
      [
        [0, 1, 3, 2, 'member'],
        [1, null, 3, null, 'member'],
      ],
    );
    assert.ok((await admin.list()).some((g) => g.groupId === group && g.members === 1));
    const illegal = (err: unknown) => err instanceof ApiError && err.kind === 'ILLEGAL_STATE';
    await assert.rejects(admin.delete(group), illegal);
    await assert.rejects(admin.reset(group, 'earliest'), illegal);

    await manager.delete(group, 'member');
    assert.deepEqual(await admin.reset(group, 'latest', [topic]), [
      { topic, partition: 0, offset: 3 },
      { topic, partition: 1, offset: 3 },
    ]);
    assert.equal((await admin.describe(group)).state, 'Empty');
    await admin.delete(group);
    await assert.rejects(admin.describe(group), (err: unknown) => err instanceof ApiError && err.kind === 'GROUP_NOT_FOUND');
  });
}
