import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, get, post } from '../helper';
import { ConsumerClient, deliveredOnce, eventually, produceToEach, V2 } from '../consumer/consumer-client';

/** Polls in a loop until stopped; any failed poll fails the test. Resolves when it stops. */
function pollLoop(client: ConsumerClient) {
  let running = true;
  const done = (async () => {
    while (running) await client.poll(150);
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
    done,
  };
}

test('three instances share a 3-partition topic: nothing delivered twice or missed while members join, leave and expire', { timeout: 60_000 }, async (t) => {
  const { app } = await buildTestApp(t, { BASKET_CONSUMER_INSTANCE_TIMEOUT_MS: '1000' });
  await post(app, '/topics', { name: 'shared', partitions: 3 }, 'application/json');
  let produced = 0;
  const settled = async (clients: ConsumerClient[]) => {
    // The group is Stable and the members' assignments cover each partition exactly once.
    await eventually('the group is stable', async () => (await get(app, '/consumer-groups/g')).body.state === 'Stable');
    const owned = (await Promise.all(clients.map((c) => c.assignment()))).flat().sort();
    assert.deepEqual(owned, [0, 1, 2]);
  };

  const a = await ConsumerClient.create(app, 'g', 'a');
  await a.subscribe(['shared']);
  assert.deepEqual(await a.assignment(), [0, 1, 2]);
  const loopA = pollLoop(a);
  produced += await produceToEach(app, 'shared', 3, 20, 'one');

  // b and c join while a's long-polls are in flight.
  const b = await ConsumerClient.create(app, 'g', 'b');
  await b.subscribe(['shared']);
  const loopB = pollLoop(b);
  produced += await produceToEach(app, 'shared', 3, 20, 'two');
  const c = await ConsumerClient.create(app, 'g', 'c');
  await c.subscribe(['shared']);
  const loopC = pollLoop(c);
  await settled([a, b, c]);
  assert.deepEqual(await c.assignment(), [2], 'range: one partition each, in member order');
  produced += await produceToEach(app, 'shared', 3, 20, 'three');
  await eventually('b and c have read something', async () => b.delivered.length > 0 && c.delivered.length > 0);

  // b leaves.
  await loopB.stop();
  await b.delete();
  await settled([a, c]);
  produced += await produceToEach(app, 'shared', 3, 20, 'four');

  // c goes silent and expires; its partitions move to a.
  await loopC.stop();
  await eventually('c expired', async () => (await get(app, '/consumer-groups/g')).body.members.length === 1);
  assert.equal((await get(app, `${c.base}/assignments`)).body.error_code, 40403);
  await settled([a]);
  produced += await produceToEach(app, 'shared', 3, 20, 'five');

  await eventually('a has read everything left', async () => deliveredOnce([a, b, c]).size >= produced);
  await loopA.stop();
  const all = deliveredOnce([a, b, c]);
  assert.equal(all.size, produced, 'nothing missed, nothing twice');
  for (let p = 0; p < 3; p++) for (let o = 0; o < produced / 3; o++) assert.ok(all.has(`${p}:${o}`), `${p}:${o} delivered`);
  assert.ok(a.delivered.length > 0 && b.delivered.length > 0 && c.delivered.length > 0, 'every member took part');
});

test('a fourth instance stays idle until one leaves, then its waiting read gets the partition', { timeout: 30_000 }, async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'four', partitions: 3 }, 'application/json');
  const clients: ConsumerClient[] = [];
  for (const name of ['a', 'b', 'c', 'd']) {
    const client = await ConsumerClient.create(app, 'g4', name);
    await client.subscribe(['four']);
    clients.push(client);
  }
  const [a, b, c, d] = clients as [ConsumerClient, ConsumerClient, ConsumerClient, ConsumerClient];
  assert.deepEqual(await Promise.all(clients.map((x) => x.assignment())), [[0], [1], [2], []]);
  const group = (await get(app, '/consumer-groups/g4')).body;
  assert.equal(group.members.length, 4);
  assert.deepEqual(group.members.find((m: any) => m.client_id === 'd').assignments, []);

  await produceToEach(app, 'four', 3, 5, 'x');
  assert.deepEqual(await d.poll(0), [], 'idle: nothing assigned, nothing read');
  const waiting = d.poll(20_000);
  await a.delete();
  const got = await waiting;
  assert.deepEqual(await d.assignment(), [2]);
  assert.deepEqual(got.map((r) => `${r.partition}:${r.offset}`), ['2:0', '2:1', '2:2', '2:3', '2:4'], 'the waiting read returned the new partition from its start');
  assert.deepEqual(await b.assignment(), [0]);
  assert.deepEqual(await c.assignment(), [1]);
});

test('auto-commit: on its interval, and on delete; a new group with earliest reads from the beginning', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'ac', partitions: 1 }, 'application/json');
  await produceToEach(app, 'ac', 1, 4, 'r');
  const committed = async (group: string) => {
    const res = await app.inject({ method: 'GET', url: `/consumer-groups/${group}` });
    return JSON.parse(res.body).partitions?.[0]?.committed_offset ?? null;
  };

  const slow = await ConsumerClient.create(app, 'hourly', 's', { 'auto.commit.interval.ms': 3_600_000 });
  await slow.subscribe(['ac']);
  assert.equal((await slow.poll(1000)).length, 4);
  await slow.poll(0);
  assert.equal(await committed('hourly'), null, 'the interval has not passed: nothing committed yet');
  await slow.delete();
  assert.equal(await committed('hourly'), 4, 'closing commits what was consumed');

  const eager = await ConsumerClient.create(app, 'eager', 'e', { 'auto.commit.interval.ms': 1 });
  await eager.subscribe(['ac']);
  assert.equal((await eager.poll(1000)).length, 4);
  await eventually('the next read commits', async () => {
    await eager.poll(0);
    return (await committed('eager')) === 4;
  });

  const manual = await ConsumerClient.create(app, 'manual', 'm', { 'auto.commit.enable': false });
  await manual.subscribe(['ac']);
  await manual.poll(1000);
  await manual.delete();
  assert.equal(await committed('manual'), null, 'without auto-commit nothing is committed');

  const fresh = await ConsumerClient.create(app, 'fresh-group', 'f');
  await fresh.subscribe(['ac']);
  assert.deepEqual((await fresh.poll(1000)).map((r) => r.offset), [0, 1, 2, 3]);
  const again = await ConsumerClient.create(app, 'hourly', 's2');
  await again.subscribe(['ac']);
  assert.deepEqual(await again.poll(0), [], 'the old group continues after its committed offset');
});

test('assignors per consumer: round-robin when all members support it; a member with none in common is refused cleanly', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'ra', partitions: 2 }, 'application/json');
  await post(app, '/topics', { name: 'rb', partitions: 2 }, 'application/json');
  const a = await ConsumerClient.create(app, 'rr', 'a', { 'partition.assignment.strategy': 'roundrobin' });
  const b = await ConsumerClient.create(app, 'rr', 'b', { 'partition.assignment.strategy': ['org.apache.kafka.clients.consumer.RoundRobinAssignor', 'range'] });
  await a.subscribe(['ra', 'rb']);
  await b.subscribe(['ra', 'rb']);
  const assignments = async (client: ConsumerClient) => (await get(app, `${client.base}/assignments`)).body.partitions.map((p: any) => `${p.topic}-${p.partition}`);
  // round-robin deals ra-0, ra-1, rb-0, rb-1 in turn; range would give a both partition 0s.
  assert.deepEqual(await assignments(a), ['ra-0', 'rb-0']);
  assert.deepEqual(await assignments(b), ['ra-1', 'rb-1']);
  assert.equal((await get(app, '/consumer-groups/rr')).body.protocol, 'roundrobin');

  const c = await ConsumerClient.create(app, 'rr', 'c', { 'partition.assignment.strategy': 'range' });
  const refused = await post(app, `${c.base}/subscription`, { topics: ['ra'] }, V2);
  assert.deepEqual([refused.status, refused.body.error_code], [409, 40903]);
  assert.match(refused.body.message, /INCONSISTENT_GROUP_PROTOCOL/);
  assert.deepEqual((await get(app, `${c.base}/subscription`)).body.topics, [], 'the refused instance is not half-subscribed');
  const group = (await get(app, '/consumer-groups/rr')).body;
  assert.equal(group.state, 'Stable');
  assert.equal(group.members.length, 2);
  assert.equal((await post(app, `${c.base}/assignments`, { partitions: [{ topic: 'ra', partition: 0 }] }, V2)).status, 204, 'it can still assign manually');
});

test('a pattern subscription takes up topics created later, and a grown topic is rebalanced', { timeout: 30_000 }, async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'pat-1', partitions: 1 }, 'application/json');
  await post(app, '/topics', { name: 'other', partitions: 1 }, 'application/json');
  const a = await ConsumerClient.create(app, 'pg', 'a');
  const subscribed = await post(app, `${a.base}/subscription`, { topic_pattern: 'pat-.*' }, V2);
  assert.equal(subscribed.status, 204);
  const assigned = async () => (await get(app, `${a.base}/assignments`)).body.partitions.map((p: any) => `${p.topic}-${p.partition}`).sort();
  assert.deepEqual(await assigned(), ['pat-1-0']);
  assert.deepEqual((await get(app, `${a.base}/subscription`)).body.topics, ['pat-1']);

  await post(app, '/topics', { name: 'pat-2', partitions: 1 }, 'application/json');
  await eventually('pat-2 is assigned', async () => {
    await a.poll(0);
    return (await assigned()).includes('pat-2-0');
  });
  const grown = await app.inject({ method: 'PATCH', url: '/topics/pat-1', payload: { partitions: 2 } });
  assert.equal(grown.statusCode, 200, grown.body);
  await eventually('the new partition is assigned', async () => {
    await a.poll(0);
    return (await assigned()).join() === 'pat-1-0,pat-1-1,pat-2-0';
  });
  await post(app, '/topics/pat-2', { records: [{ value: 'new' }] });
  await post(app, '/topics/other', { records: [{ value: 'not mine' }] });
  await eventually('the record of the new topic arrives', async () => (await a.poll(200)).length > 0 || a.delivered.length > 0);
  assert.deepEqual(a.delivered.map((r) => r.value), ['new']);

  const badPattern = await post(app, `/consumers/pg/instances/a/subscription`, { topic_pattern: '(' }, V2);
  assert.equal(badPattern.status, 409, 'already subscribed comes first');
  const b = await ConsumerClient.create(app, 'pg2', 'b');
  assert.deepEqual((await post(app, `${b.base}/subscription`, { topic_pattern: '(' }, V2)).body.error_code, 40002);
  assert.deepEqual((await post(app, `${b.base}/subscription`, {}, V2)).body.error_code, 40002);
});
