import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine, type EmbeddedEngineOptions } from '../../../src/engine/embedded/embedded-engine';
import { CONSUMER_OFFSETS_TOPIC, EmbeddedGroupCoordinator, type EmbeddedGroupCoordinatorOptions } from '../../../src/coordinator/group/embedded-group-coordinator';
import { isCoordinatorError } from '../../../src/coordinator/group/coordinator-error';
import { INTERNAL_TOPIC_RETENTION_MS } from '../../../src/coordinator/internal-partition';
import { defer, ManualClock, silentLogger, tempDir } from '../../engine/embedded/helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * An engine and group coordinator on `dir`, both on `clock`, with their timers out of the way: the
 * test runs retention (engine) and offsets retention (coordinator) by hand. One offsets partition,
 * so every group shares the log the assertions look at.
 */
async function open(dir: string, clock: ManualClock, options: EmbeddedGroupCoordinatorOptions = {}, engineOptions: Partial<EmbeddedEngineOptions> = {}) {
  const engine = new EmbeddedEngine({ dataDir: dir, now: clock.now, retentionCheckIntervalMs: 3_600_000, ...engineOptions }, silentLogger);
  await engine.start();
  const coordinator = new EmbeddedGroupCoordinator(engine, { offsetsTopicPartitions: 1, offsetsRetentionCheckIntervalMs: 3_600_000, now: clock.now, ...options }, silentLogger);
  await coordinator.start();
  return {
    engine,
    coordinator,
    async close() {
      await coordinator.close();
      await engine.close();
    },
  };
}

/** A member that joins alone and stays: a session far longer than the test's clock moves. */
async function joinAlone(coordinator: EmbeddedGroupCoordinator, groupId: string): Promise<{ memberId: string; generationId: number }> {
  const join = await coordinator.joinGroup({
    groupId,
    memberId: '',
    clientId: 'c',
    sessionTimeoutMs: 365 * DAY,
    rebalanceTimeoutMs: 5_000,
    protocols: [{ name: 'range', subscription: { topics: ['t'] } }],
    listener: { onRebalance: () => undefined },
  });
  await coordinator.syncGroup({ groupId, memberId: join.memberId, generationId: join.generationId, assignments: [{ memberId: join.memberId, assignment: { partitions: [{ topic: 't', partition: 0 }], partitionCounts: { t: 1 } } }] });
  return join;
}

async function committed(coordinator: EmbeddedGroupCoordinator, groupId: string): Promise<number> {
  const [o] = await coordinator.fetchOffsets(groupId, [{ topic: 't', partition: 0 }]);
  return (o as { offset: number }).offset;
}

function commit(coordinator: EmbeddedGroupCoordinator, groupId: string, offset: number, member = { memberId: '', generationId: -1 }) {
  return coordinator.commitOffsets({ groupId, ...member, offsets: [{ topic: 't', partition: 0, offset, metadata: '' }] });
}

/** Moves the clock, and runs both passes as their timers would. */
async function pass(engine: EmbeddedEngine, coordinator: EmbeddedGroupCoordinator, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await coordinator.runOffsetsRetention();
  await engine.runRetention();
}

async function offsetsLog(engine: EmbeddedEngine) {
  const [p] = (await engine.describeTopic(CONSUMER_OFFSETS_TOPIC)).partitions;
  return p as { logStartOffset: number; highWatermark: number; sizeBytes: number };
}

test('a live group that commits nothing for weeks keeps its offsets while retention deletes the segments around them, and after a restart', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let node = await open(dir, clock);
  defer(t, () => node.close());
  const member = await joinAlone(node.coordinator, 'quiet');
  await commit(node.coordinator, 'quiet', 42, member);
  // Another group commits twice a day, so segments roll (segment.ms, a day) and age out.
  for (let i = 0; i < 60; i++) {
    await commit(node.coordinator, 'busy', i);
    await pass(node.engine, node.coordinator, clock, 12 * HOUR);
  }
  assert.ok((await offsetsLog(node.engine)).logStartOffset > 0, 'retention deleted segments of the offsets topic');
  assert.equal(await committed(node.coordinator, 'quiet'), 42);
  assert.equal((await node.coordinator.describeGroup('quiet')).state, 'Stable');

  await node.close();
  node = await open(dir, clock);
  assert.equal(await committed(node.coordinator, 'quiet'), 42, 'replay finds the offset after a restart');
  assert.equal(await committed(node.coordinator, 'busy'), 59);
});

test('an empty group loses its offsets once empty for offsets.retention.minutes, with a tombstone: a restart does not bring them back', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let node = await open(dir, clock, { offsetsRetentionMs: 3 * DAY });
  defer(t, () => node.close());
  const member = await joinAlone(node.coordinator, 'leaving');
  await commit(node.coordinator, 'leaving', 7, member);
  await commit(node.coordinator, 'standalone', 9);
  await pass(node.engine, node.coordinator, clock, 2 * DAY);
  await node.coordinator.leaveGroup('leaving', member.memberId);
  assert.equal((await node.coordinator.describeGroup('leaving')).state, 'Empty');

  await pass(node.engine, node.coordinator, clock, 2 * DAY);
  assert.equal(await committed(node.coordinator, 'leaving'), 7, 'empty for 2 of 3 days: kept');
  await assert.rejects(node.coordinator.describeGroup('standalone'), (err) => isCoordinatorError(err) && err.code === 'GROUP_ID_NOT_FOUND', 'committed 4 days ago without group management: expired');

  await pass(node.engine, node.coordinator, clock, 1 * DAY + 1);
  assert.equal(await committed(node.coordinator, 'leaving'), -1, 'empty for 3 days: expired');
  await assert.rejects(node.coordinator.describeGroup('leaving'), (err) => isCoordinatorError(err) && err.code === 'GROUP_ID_NOT_FOUND');
  assert.equal((await offsetsLog(node.engine)).logStartOffset, 0, 'nothing was deleted by retention: only the tombstones hide the commits');

  await node.close();
  node = await open(dir, clock, { offsetsRetentionMs: 3 * DAY });
  assert.equal(await committed(node.coordinator, 'leaving'), -1);
  assert.equal(await committed(node.coordinator, 'standalone'), -1);
  assert.deepEqual(await node.coordinator.listGroups(), []);
});

test('a group whose members went with a restart counts its empty time from that restart, also across the next one', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let node = await open(dir, clock, { offsetsRetentionMs: 3 * DAY });
  defer(t, () => node.close());
  const member = await joinAlone(node.coordinator, 'g');
  await commit(node.coordinator, 'g', 5, member);
  await pass(node.engine, node.coordinator, clock, 10 * DAY);
  assert.equal(await committed(node.coordinator, 'g'), 5, 'members: never expires');

  await node.close();
  node = await open(dir, clock, { offsetsRetentionMs: 3 * DAY });
  assert.equal((await node.coordinator.describeGroup('g')).state, 'Empty');
  await pass(node.engine, node.coordinator, clock, 2 * DAY);
  assert.equal(await committed(node.coordinator, 'g'), 5, 'empty since the restart 2 days ago');
  await node.close();
  node = await open(dir, clock, { offsetsRetentionMs: 3 * DAY });
  await pass(node.engine, node.coordinator, clock, 1 * DAY + 1);
  assert.equal(await committed(node.coordinator, 'g'), -1, 'empty for 3 days counted from the first restart');
});

test('repeated commits: the offsets topic stays bounded, retention deleting superseded segments', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const node = await open(dir, clock);
  defer(t, () => node.close());
  const perDay = 8;
  const days = 40;
  let largest = 0;
  for (let i = 0; i < perDay * days; i++) {
    await commit(node.coordinator, 'g', i);
    await pass(node.engine, node.coordinator, clock, DAY / perDay);
    const log = await offsetsLog(node.engine);
    largest = Math.max(largest, log.highWatermark - log.logStartOffset);
  }
  const log = await offsetsLog(node.engine);
  // Retention (7 days) plus a segment (a day) plus the one being filled: at most 9 days of commits.
  const bound = (INTERNAL_TOPIC_RETENTION_MS / DAY + 2) * perDay;
  assert.ok(largest <= bound, `at most ${bound} records in the log at any time, saw ${largest}`);
  assert.ok(log.highWatermark >= perDay * days, `${log.highWatermark} records written`);
  assert.equal(await committed(node.coordinator, 'g'), perDay * days - 1);
});

test('after a downtime longer than the retention, a retention pass before the coordinator loads deletes nothing; the load keeps the state young', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  let node = await open(dir, clock);
  defer(t, () => node.close());
  // Groups with members at shutdown: empty only since the next start, so offsets retention keeps them.
  const g = await joinAlone(node.coordinator, 'g');
  await commit(node.coordinator, 'g', 1, g);
  await commit(node.coordinator, 'old', 3, await joinAlone(node.coordinator, 'old'));
  clock.advance(2 * DAY);
  await commit(node.coordinator, 'g', 2, g); // rolls: the first segment (holding 'old') is now inactive
  await node.close();

  clock.advance(30 * DAY);
  const engine = new EmbeddedEngine({ dataDir: dir, now: clock.now, retentionCheckIntervalMs: 3_600_000 }, silentLogger);
  await engine.start();
  await engine.runRetention();
  assert.equal((await offsetsLog(engine)).logStartOffset, 0, 'retention held while no coordinator runs');
  await engine.close();

  node = await open(dir, clock);
  assert.equal((await node.engine.describeTopic(CONSUMER_OFFSETS_TOPIC)).configs['retention.ms'], String(INTERNAL_TOPIC_RETENTION_MS), 'released after the load');
  await pass(node.engine, node.coordinator, clock, HOUR);
  assert.ok((await offsetsLog(node.engine)).logStartOffset > 0, 'the old segments went once their records were re-appended');
  assert.equal(await committed(node.coordinator, 'old'), 3);
  assert.equal(await committed(node.coordinator, 'g'), 2);
  await node.close();
  node = await open(dir, clock);
  assert.equal(await committed(node.coordinator, 'old'), 3, 'the re-appended records replay');
  assert.equal(await committed(node.coordinator, 'g'), 2);
});

test('topics of earlier versions and broker defaults that would delete live records are aligned at load', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const first = new EmbeddedEngine({ dataDir: dir, now: clock.now }, silentLogger);
  await first.start();
  await first.createTopic({ name: CONSUMER_OFFSETS_TOPIC, partitions: 2 });
  await first.close();

  const node = await open(dir, clock, {}, { topicDefaults: { 'retention.bytes': '1000', 'retention.ms': '60000' } });
  defer(t, () => node.close());
  const { configs, partitions } = await node.engine.describeTopic(CONSUMER_OFFSETS_TOPIC);
  assert.equal(partitions.length, 2, 'an existing topic keeps its partition count');
  assert.equal(configs['retention.bytes'], '-1');
  assert.equal(configs['retention.ms'], String(INTERNAL_TOPIC_RETENTION_MS));
  assert.equal(configs['segment.ms'], String(DAY));
});
