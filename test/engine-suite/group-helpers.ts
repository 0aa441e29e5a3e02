import assert from 'node:assert/strict';
import pino from 'pino';
import { isCoordinatorError } from '../../src/coordinator/group/coordinator-error';
import type { Assignment, GroupCoordinator, JoinGroupRequest } from '../../src/coordinator/group/group-coordinator';
import { ConsumerManager } from '../../src/consumer/consumer-manager';
import type { ConsumerInstance } from '../../src/consumer/consumer-instance';
import type { ConsumerConfigInput } from '../../src/consumer/consumer-config';
import type { StorageEngine } from '../../src/engine/storage-engine';
import type { SuiteContext } from './suite';
import { record } from './suite-helpers';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * The group coordinators and consumer managers of one suite test, closed in the right order after
 * it (consumers leave their groups, then coordinators stop), before the engine is cleaned up.
 */
export class SuiteGroups {
  private readonly coordinators: GroupCoordinator[] = [];
  private readonly managers: ConsumerManager[] = [];

  constructor(
    private readonly engine: () => StorageEngine,
    private readonly newCoordinator: () => GroupCoordinator,
  ) {}

  /** A started coordinator on the test's engine; a second call is a restarted coordinator (same engine). */
  async coordinator(): Promise<GroupCoordinator> {
    const coordinator = this.newCoordinator();
    this.coordinators.push(coordinator);
    await coordinator.start();
    return coordinator;
  }

  /** Consumer instances (the HTTP API's) on a coordinator, as the app builds them. */
  consumers(coordinator: GroupCoordinator): ConsumerManager {
    const manager = new ConsumerManager(this.engine(), coordinator, { instanceTimeoutMs: 60_000, maxPollTimeoutMs: 30_000 }, logger);
    this.managers.push(manager);
    return manager;
  }

  async close(): Promise<void> {
    await Promise.all(this.managers.splice(0).map((m) => m.closeAll()));
    await Promise.all(this.coordinators.splice(0).map((c) => c.close()));
  }
}

export interface Delivered {
  partition: number;
  offset: number;
  value: string;
}

/** One long poll of an instance; what it returns. */
export async function poll(instance: ConsumerInstance, timeoutMs: number): Promise<Delivered[]> {
  return instance.poll({ timeoutMs, maxBytes: 1 << 20, signal: new AbortController().signal }, (records) => ({
    output: records.map((r) => ({ partition: r.partition, offset: r.offset, value: r.value === null ? '' : r.value.toString('utf8') })),
    count: records.length,
  }));
}

/** Creates an instance reading from the earliest offset unless the config says otherwise. */
export function instance(manager: ConsumerManager, group: string, name: string, config: ConsumerConfigInput = {}): ConsumerInstance {
  return manager.create(group, name, { format: 'binary', 'auto.offset.reset': 'earliest', ...config });
}

export function partitionsOf(instance: ConsumerInstance): number[] {
  return instance.assignment().map((tp) => tp.partition).sort((a, b) => a - b);
}

/** Checks a condition every 50 ms until it holds; fails naming `what` after the deadline. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A member driven by hand through the coordinator API: counts rebalance notifications, can wait for the next. */
export function handMember(groupId: string, clientId: string, topics: string[], sessionTimeoutMs = 30_000) {
  let notified = 0;
  let waiters: Array<() => void> = [];
  const request: JoinGroupRequest = {
    groupId,
    memberId: '',
    clientId,
    sessionTimeoutMs,
    rebalanceTimeoutMs: 10_000,
    protocols: [{ name: 'range', subscription: { topics } }],
    listener: {
      onRebalance() {
        notified++;
        for (const w of waiters.splice(0)) w();
      },
    },
  };
  return {
    request,
    get notified() {
      return notified;
    },
    nextRebalance: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

export type HandMember = ReturnType<typeof handMember>;
export type Assign = (memberIds: string[]) => Array<{ memberId: string; assignment: Assignment }>;

/** JoinGroup then SyncGroup; the leader hands out `assign`'s assignments. */
export async function joinAndSync(coordinator: GroupCoordinator, m: HandMember, assign: Assign) {
  const join = await coordinator.joinGroup(m.request);
  m.request.memberId = join.memberId;
  const assignments = join.leaderId === join.memberId ? assign(join.members.map((x) => x.memberId)) : [];
  const sync = await coordinator.syncGroup({ groupId: m.request.groupId, memberId: join.memberId, generationId: join.generationId, assignments });
  return { join, sync };
}

export type Synced = Awaited<ReturnType<typeof joinAndSync>>;

/**
 * Members join and sync one generation together; as the consumer layer does, they join again when
 * the coordinator says a rebalance is under way. `started` is a join already in flight for the last member.
 */
export async function rebalance(coordinator: GroupCoordinator, members: HandMember[], assign: Assign, started?: Promise<Synced>): Promise<Synced[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const results = await Promise.allSettled(
      members.map((m, i) => (attempt === 0 && started !== undefined && i === members.length - 1 ? started : joinAndSync(coordinator, m, assign))),
    );
    const refused = results.find((r) => r.status === 'rejected');
    if (refused === undefined) return results.map((r) => (r as PromiseFulfilledResult<Synced>).value);
    if (!isCoordinatorError(refused.reason, 'REBALANCE_IN_PROGRESS')) throw refused.reason;
  }
  throw new Error('the members did not complete a rebalance in 5 attempts');
}

export function topicAssignment(topic: string, count: number, ...partitions: number[]): Assignment {
  return { partitions: partitions.map((partition) => ({ topic, partition })), partitionCounts: { [topic]: count } };
}

/** Writes `count` records to each partition, valued "<tag>-p<partition>-<n>". */
export async function produceToEach(engine: StorageEngine, topic: string, partitions: number, count: number, tag: string): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    await engine.append(topic, p, Array.from({ length: count }, (_, i) => record(`${tag}-p${p}-${i}`)), { acks: 1 });
  }
}

/**
 * A test's topic (with `perPartition` records in each partition, tagged "first") and group, both
 * named uniquely from `name`, and the engine under test.
 */
export async function topicAndGroup(s: SuiteContext, name: string, partitions: number, perPartition = 0): Promise<{ engine: StorageEngine; topic: string; group: string }> {
  const { engine, createTopic } = s.current;
  const topic = s.topicName(`groups-${name}`);
  await createTopic(topic, partitions);
  if (perPartition > 0) await produceToEach(engine, topic, partitions, perPartition, 'first');
  return { engine, topic, group: s.topicName(name) };
}
