import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, get, post } from '../helper';
import { ConsumerClient, produceToEach, V2 } from '../consumer/consumer-client';
import { TOKENS } from '../../src/tokens';
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator';

async function reset(app: FastifyInstance, group: string, body: unknown) {
  return post(app, `/consumer-groups/${group}/offsets/reset`, body, 'application/json');
}

test('describe: state, members, assignments, committed offset and lag per partition; list', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'lag', partitions: 2 }, 'application/json');
  await produceToEach(app, 'lag', 2, 5, 'v');
  const a = await ConsumerClient.create(app, 'lg', 'a', { 'auto.commit.enable': false });
  await a.subscribe(['lag']);
  await post(app, `${a.base}/offsets`, { offsets: [{ topic: 'lag', partition: 0, offset: 3 }] }, V2);

  const described = await get(app, '/consumer-groups/lg');
  assert.equal(described.status, 200);
  const g = described.body;
  assert.equal(g.group_id, 'lg');
  assert.equal(g.state, 'Stable');
  assert.equal(g.protocol, 'range');
  assert.equal(g.generation_id, 1);
  assert.equal(g.members.length, 1);
  assert.equal(g.members[0].client_id, 'a');
  assert.equal(g.leader, g.members[0].member_id);
  assert.deepEqual(g.members[0].subscription, ['lag']);
  assert.deepEqual(g.members[0].assignments, [{ topic: 'lag', partition: 0 }, { topic: 'lag', partition: 1 }]);
  assert.deepEqual(
    g.partitions.map((p: any) => [p.partition, p.committed_offset, p.log_end_offset, p.lag, p.client_id]),
    [[0, 3, 5, 2, 'a'], [1, null, 5, null, 'a']],
  );

  const listed = (await get(app, '/consumer-groups')).body;
  assert.deepEqual(listed, [{ group_id: 'lg', state: 'Stable', protocol_type: 'consumer', members: 1 }]);
  const unknown = await get(app, '/consumer-groups/nope');
  assert.deepEqual([unknown.status, unknown.body.error_code], [404, 40405]);
});

test('delete only an empty group; reset offsets only while no member is active', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'rs', partitions: 2 }, 'application/json');
  const before = Date.now();
  await produceToEach(app, 'rs', 2, 4, 'v');
  const a = await ConsumerClient.create(app, 'rg', 'a');
  await a.subscribe(['rs']);
  assert.equal((await a.poll(1000)).length + (await a.poll(0)).length, 8);

  const busyDelete = await app.inject({ method: 'DELETE', url: '/consumer-groups/rg' });
  assert.deepEqual([busyDelete.statusCode, JSON.parse(busyDelete.body).error_code], [409, 40903]);
  const busyReset = await reset(app, 'rg', { to: 'earliest' });
  assert.deepEqual([busyReset.status, busyReset.body.error_code], [409, 40903]);
  await a.delete(); // commits 4 and 4

  assert.deepEqual((await reset(app, 'rg', { to: 'earliest' })).body.offsets, [
    { topic: 'rs', partition: 0, offset: 0 },
    { topic: 'rs', partition: 1, offset: 0 },
  ]);
  assert.deepEqual((await reset(app, 'rg', { to: 'latest', topics: ['rs'] })).body.offsets.map((o: any) => o.offset), [4, 4]);
  assert.deepEqual((await reset(app, 'rg', { to: 'timestamp', timestamp: before })).body.offsets.map((o: any) => o.offset), [0, 0]);
  const given = await reset(app, 'rg', { to: 'offsets', offsets: [{ topic: 'rs', partition: 1, offset: 2 }] });
  assert.equal(given.status, 200);
  assert.deepEqual((await get(app, '/consumer-groups/rg')).body.partitions.map((p: any) => p.committed_offset), [0, 2]);
  assert.equal((await reset(app, 'rg', { to: 'timestamp' })).body.error_code, 40002);
  assert.equal((await reset(app, 'rg', { to: 'sideways' })).body.error_code, 40002);
  assert.equal((await reset(app, 'other', { to: 'earliest' })).body.error_code, 40405, 'an unknown group needs topics');
  assert.equal((await reset(app, 'rg', { to: 'earliest', topics: ['missing'] })).body.error_code, 40401);

  // A new member starts where the reset put the group.
  const b = await ConsumerClient.create(app, 'rg', 'b');
  await b.subscribe(['rs']);
  const read = [...(await b.poll(1000)), ...(await b.poll(0))];
  assert.deepEqual(read.map((r) => `${r.partition}:${r.offset}`).sort(), ['0:0', '0:1', '0:2', '0:3', '1:2', '1:3']);
  await b.delete();

  const deleted = await app.inject({ method: 'DELETE', url: '/consumer-groups/rg' });
  assert.equal(deleted.statusCode, 204);
  assert.equal((await get(app, '/consumer-groups/rg')).body.error_code, 40405);
  assert.equal((await app.inject({ method: 'DELETE', url: '/consumer-groups/rg' })).statusCode, 404);
  const c = await ConsumerClient.create(app, 'rg', 'c');
  await c.subscribe(['rs']);
  assert.equal([...(await c.poll(1000)), ...(await c.poll(0))].length, 8, 'a deleted group starts over');
});

test("a commit from outside the group's membership is refused with Kafka's reason while members are active", async (t) => {
  const { app, container } = await buildTestApp(t);
  await post(app, '/topics', { name: 'om', partitions: 1 }, 'application/json');
  const coordinator = container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator);
  const member = await coordinator.joinGroup({
    groupId: 'og',
    memberId: '',
    clientId: 'native',
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 1000,
    protocols: [{ name: 'range', subscription: { topics: ['om'] } }],
    listener: { onRebalance: () => undefined },
  });
  await coordinator.syncGroup({ groupId: 'og', memberId: member.memberId, generationId: member.generationId, assignments: [] });
  const manual = await ConsumerClient.create(app, 'og', 'm');
  await post(app, `${manual.base}/assignments`, { partitions: [{ topic: 'om', partition: 0 }] }, V2);
  const refused = await post(app, `${manual.base}/offsets`, { offsets: [{ topic: 'om', partition: 0, offset: 1 }] }, V2);
  assert.deepEqual([refused.status, refused.body.error_code], [409, 40903]);
  assert.match(refused.body.message, /UNKNOWN_MEMBER_ID/);
  await coordinator.leaveGroup('og', member.memberId);
  assert.equal((await post(app, `${manual.base}/offsets`, { offsets: [{ topic: 'om', partition: 0, offset: 1 }] }, V2)).status, 204, 'allowed once the group is empty');
});
