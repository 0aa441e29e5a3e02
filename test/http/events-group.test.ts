import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS } from '../../src/tokens';
import type { GroupCoordinator, GroupDescription } from '../../src/coordinator/group/group-coordinator';
import { connectSse, type SseConnection } from '../sse/sse-client';
import { eventually, listenTestApp, offsetsOf, type LiveApp } from '../sse/live-app';

async function stableWith(live: LiveApp, group: string, members: number): Promise<GroupDescription> {
  const coordinator = live.container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator);
  let described: GroupDescription | undefined;
  const deadline = Date.now() + 10_000;
  for (;;) {
    described = await coordinator.describeGroup(group).catch(() => undefined);
    const assigned = described?.members.every((m) => m.assignment.length > 0) ?? false;
    if (described?.state === 'Stable' && described.members.length === members && assigned) return described;
    if (Date.now() > deadline) throw new Error(`group ${group} not stable with ${members} members: ${JSON.stringify(described)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const partitionsOf = (conn: SseConnection) => new Set(offsetsOf(conn).map((o) => o.split(':')[0]));

test('group=: two streams share the partitions; when one leaves, the other takes over from the commits with no gap or repeat', async (t) => {
  const live = await listenTestApp(t, { BASKET_NUM_PARTITIONS: '2' });
  const record = (i: number) => ({ partition: i % 2, value: i });
  await live.produce('shared', [0, 1, 2, 3].map(record));
  const a = await connectSse(live.base, '/topics/shared/events?group=g&from=earliest');
  t.after(() => a.close());
  assert.equal(a.status, 200);
  await a.waitForCount(4);
  const b = await connectSse(live.base, '/topics/shared/events?group=g&from=earliest');
  t.after(() => b.close());
  const group = await stableWith(live, 'g', 2);
  assert.deepEqual(group.members.map((m) => m.assignment.length), [1, 1]);

  const countA = a.messages.length;
  await live.produce('shared', [4, 5, 6, 7, 8, 9].map(record));
  await eventually(() => a.messages.length - countA + b.messages.length === 6, 'the new records, once each');
  const newInA = offsetsOf(a).slice(countA);
  assert.equal(newInA.length, 3, 'each stream got one partition');
  assert.equal(new Set(newInA.map((o) => o.split(':')[0])).size, 1);
  assert.equal(partitionsOf(b).size, 1);
  assert.notDeepEqual([...partitionsOf(b)], [newInA[0].split(':')[0]]);

  a.close();
  await stableWith(live, 'g', 1);
  const countB = b.messages.length;
  await live.produce('shared', [10, 11, 12, 13].map(record));
  await eventually(() => b.messages.length - countB === 4, 'b takes over both partitions');
  const all = [...offsetsOf(a), ...offsetsOf(b)];
  assert.equal(all.length, 14);
  assert.equal(new Set(all).size, 14, 'no record twice across the group');
});

test('group= commits what it delivered: a new stream in the group starts after it', async (t) => {
  const live = await listenTestApp(t);
  await live.produce('commits', [1, 2, 3].map((value) => ({ value })));
  const first = await connectSse(live.base, '/topics/commits/events?group=c&from=earliest');
  await first.waitForCount(3);
  first.close();
  const coordinator = live.container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator);
  await eventually(() => live.hub.streamCount === 0, 'the stream to end');
  await stableOrEmpty(coordinator, 'c');
  const [committed] = await coordinator.fetchOffsets('c', [{ topic: 'commits', partition: 0 }]);
  assert.equal(committed.offset, 3);
  await live.produce('commits', [{ value: 4 }]);
  const second = await connectSse(live.base, '/topics/commits/events?group=c&from=earliest');
  t.after(() => second.close());
  await second.waitForCount(1);
  assert.deepEqual(second.messages.map((m) => JSON.parse(m.data).value), [4]);
});

async function stableOrEmpty(coordinator: GroupCoordinator, group: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await coordinator.describeGroup(group)).state !== 'Empty') {
    if (Date.now() > deadline) throw new Error(`group ${group} did not empty`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
