import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post, get } from '../helper';

const V2 = 'application/vnd.kafka.v2+json';

/**
 * Regression: an instance deleted while its first JoinGroup is still in flight must not leave a
 * member behind in the group (it used to stay until its session expired, holding partitions).
 * The join is held in flight by a rebalance: member b is already in the group and must rejoin.
 */
test('deleting an instance during its first join leaves no member in the group', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/topics', { name: 'lj', partitions: 2 }, 'application/json');
  assert.equal((await post(app, '/consumers/g', { name: 'b', format: 'json' }, V2)).status, 200);
  assert.equal((await post(app, '/consumers/g/instances/b/subscription', { topics: ['lj'] }, V2)).status, 204);
  assert.equal((await get(app, '/consumers/g/instances/b/records?timeout=200', { accept: 'application/vnd.kafka.json.v2+json' })).status, 200);
  assert.equal((await post(app, '/consumers/g', { name: 'a', format: 'json' }, V2)).status, 200);
  const subscribed = post(app, '/consumers/g/instances/a/subscription', { topics: ['lj'] }, V2);
  const deleted = app.inject({ method: 'DELETE', url: '/consumers/g/instances/a', headers: { 'content-type': V2 } });
  // b keeps polling, so it rejoins and the rebalance completes
  const polling = get(app, '/consumers/g/instances/b/records?timeout=1000', { accept: 'application/vnd.kafka.json.v2+json' });
  await Promise.all([subscribed, deleted, polling]);
  await get(app, '/consumers/g/instances/b/records?timeout=500', { accept: 'application/vnd.kafka.json.v2+json' });
  const described = await get(app, '/consumer-groups/g');
  assert.equal(described.status, 200);
  assert.deepEqual(described.body.members.map((m: { client_id?: string; consumer_id?: string }) => m.client_id ?? m.consumer_id), ['b'], JSON.stringify(described.body));
});
