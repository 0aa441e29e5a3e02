import type { Logger } from 'pino';
import { ApiError } from '../errors';
import type { StorageEngine } from '../engine/storage-engine';
import { assertValidTopicName } from '../engine/topic-name';
import type { Assignment, CommittedOffset, GroupCoordinator, OffsetAndMetadata, TopicPartition } from '../coordinator/group/group-coordinator';
import { isCoordinatorError } from '../coordinator/group/coordinator-error';
import type { ConsumerConfig } from './consumer-config';
import { GroupMembership } from './group-membership';
import { OffsetResolver } from './offset-resolver';
import { SubscriptionState } from './subscription-state';
import { fromCoordinatorError } from './coordinator-api-errors';
import { withDeadline } from './waiting';
import { Fetcher, listRenderer, type RecordListRenderer, type RecordRenderer } from './fetcher';

export interface ConsumerInstanceOptions {
  groupId: string;
  name: string;
  config: ConsumerConfig;
  engine: StorageEngine;
  coordinator: GroupCoordinator;
  logger: Logger;
  /** The member's session at the coordinator: longer than the instance timeout, see ConsumerManager. */
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  now?: () => number;
}

export interface PollOptions {
  timeoutMs: number;
  maxBytes: number;
  /** The client went away: stop waiting, deliver nothing. */
  signal: AbortSignal;
}

/** How long subscribing waits for the first assignment before answering anyway. */
const SUBSCRIBE_WAIT_MS = 5000;

/**
 * One consumer instance of the HTTP API (Confluent REST Proxy v2), the counterpart of one Kafka
 * consumer: a subscription or manual assignment, positions, commits, and long-poll reads.
 *
 * Delivery invariants, which make a group deliver each record once while members come and go:
 * - a record is delivered only from a partition assigned at the moment the fetch returns, and only
 *   if the position it was fetched from is still the position (no seek, no reassignment since);
 * - positions advance only for records handed to a client that is still connected;
 * - before partitions are taken away (rebalance, manual reassignment, close) the read in flight is
 *   ended and awaited, then consumed positions are committed when auto-commit is on;
 * - one read at a time per instance, as a Kafka consumer is single-threaded.
 */
export class ConsumerInstance {
  readonly groupId: string;
  readonly name: string;
  readonly config: ConsumerConfig;
  readonly createdAt: number;
  lastUsed: number;
  private readonly state = new SubscriptionState();
  private readonly offsets: OffsetResolver;
  private membership: GroupMembership | undefined;
  private groupAssignment: Assignment | undefined;
  private joinedTopics: string[] = [];
  private readonly fetcher: Fetcher;
  private readLock: Promise<void> = Promise.resolve();
  private readonly committedPositions = new Map<string, number>();
  private lastAutoCommit: number;
  private activeRequests = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: ConsumerInstanceOptions) {
    this.groupId = options.groupId;
    this.name = options.name;
    this.config = options.config;
    this.now = options.now ?? Date.now;
    this.createdAt = this.lastUsed = this.lastAutoCommit = this.now();
    this.offsets = new OffsetResolver(options.engine, options.coordinator, options.groupId, options.config.autoOffsetReset, options.config.isolationLevel);
    this.fetcher = new Fetcher(options.engine, this.state, this.offsets, options.config, options.logger.child({ group: options.groupId, consumer: options.name }));
  }

  /** Marks a request as running: an instance is never idle (and never expires) while serving one. */
  begin(): () => void {
    this.activeRequests++;
    this.lastUsed = this.now();
    // Any request keeps the member's session at the coordinator too, not only reads.
    this.membership?.heartbeat().catch(() => undefined);
    return () => {
      this.activeRequests--;
      this.lastUsed = this.now();
    };
  }

  idleFor(now: number): number {
    return this.activeRequests > 0 ? 0 : now - this.lastUsed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  memberId(): string {
    return this.membership?.memberId ?? '';
  }

  subscription(): string[] {
    return this.state.type === 'pattern' ? this.joinedTopics : this.state.topics;
  }

  assignment(): TopicPartition[] {
    return this.state.assignment().map((tp) => ({ topic: tp.topic, partition: tp.partition }));
  }

  positions(): Array<TopicPartition & { offset: number }> {
    return this.state.allPositions();
  }

  async subscribe(topics: string[] | undefined, pattern: string | undefined): Promise<void> {
    this.assertOpen();
    if (this.state.type === 'assigned') throw mutuallyExclusive();
    if (this.state.type !== 'none') throw new ApiError('CONSUMER_ALREADY_SUBSCRIBED', `Consumer '${this.name}' is already subscribed; delete the subscription first`);
    if ((topics === undefined) === (pattern === undefined)) throw new ApiError('INVALID_REQUEST', 'Give either topics or topic_pattern');
    if (topics !== undefined) {
      for (const t of topics) assertValidTopicName(t);
      this.state.subscribe(topics);
    } else {
      let regex: RegExp;
      try {
        regex = new RegExp(pattern as string);
      } catch (err) {
        throw new ApiError('INVALID_REQUEST', `topic_pattern is not a valid regular expression: ${(err as Error).message}`);
      }
      this.state.subscribePattern(regex);
    }
    const membership = new GroupMembership(
      this.options.coordinator,
      {
        groupId: this.groupId,
        clientId: this.name,
        assignors: this.config.assignors,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      },
      {
        subscription: async () => ({ topics: await this.currentTopics() }),
        partitionCounts: (topics) => this.partitionCounts(topics),
        revoke: () => this.revokeAll(),
        assign: (assignment) => this.onAssigned(assignment),
      },
      this.options.logger,
    );
    this.membership = membership;
    try {
      await withDeadline(membership.ensureActive(), this.now() + SUBSCRIBE_WAIT_MS);
    } catch (err) {
      // The group refused this member (e.g. no common assignor): leave no half-subscribed state.
      this.membership = undefined;
      await membership.leave().catch(() => undefined);
      this.state.unsubscribe();
      throw isCoordinatorError(err) ? fromCoordinatorError(err) : err;
    }
  }

  async unsubscribe(): Promise<void> {
    this.assertOpen();
    await this.dropAll();
    this.state.unsubscribe();
  }

  async assign(partitions: TopicPartition[]): Promise<void> {
    this.assertOpen();
    if (this.state.type === 'topics' || this.state.type === 'pattern') throw mutuallyExclusive();
    await this.assertPartitionsExist(partitions);
    await this.fetcher.endRead();
    await this.maybeAutoCommit(true);
    this.state.assignManually(partitions);
  }

  async seek(offsets: Array<TopicPartition & { offset: number }>): Promise<void> {
    this.assertOpen();
    this.assertAssigned(offsets);
    await this.fetcher.endRead();
    for (const o of offsets) this.state.seek(o.topic, o.partition, o.offset);
  }

  /** Seeks to the beginning, the end, or a timestamp; an empty list means every assigned partition. */
  async seekTo(partitions: TopicPartition[], where: 'earliest' | 'latest' | { timestamp: number }): Promise<void> {
    this.assertOpen();
    const targets = partitions.length === 0 ? this.state.assignment() : partitions;
    this.assertAssigned(targets);
    const resolved = await Promise.all(targets.map(async (tp) => ({ ...tp, offset: await this.offsets.offsetFor(tp, where) })));
    await this.seek(resolved);
  }

  /** Commits the given offsets, or every consumed position when none are given. */
  async commit(offsets?: OffsetAndMetadata[]): Promise<void> {
    this.assertOpen();
    const toCommit = offsets ?? this.state.allPositions().map((p) => ({ ...p, metadata: '' }));
    if (toCommit.length === 0) return;
    try {
      await this.sendCommit(toCommit);
    } catch (err) {
      if (isCoordinatorError(err)) {
        if (err.code === 'ILLEGAL_GENERATION' || err.code === 'UNKNOWN_MEMBER_ID') this.membership?.requestRejoin();
        throw fromCoordinatorError(err);
      }
      throw err;
    }
  }

  async committed(partitions: TopicPartition[] | undefined): Promise<CommittedOffset[]> {
    this.assertOpen();
    return this.options.coordinator.fetchOffsets(this.groupId, partitions);
  }

  /** GET records: waits up to timeoutMs for records of the assigned partitions, returns once any are there. */
  poll<T>(options: PollOptions, render: RecordListRenderer<T>): Promise<T> {
    return this.pollSources(options, listRenderer(render));
  }

  /** poll, rendering straight from the fetched partitions' record cursors (the records route's path). */
  async pollSources<T>(options: PollOptions, render: RecordRenderer<T>): Promise<T> {
    const nothing = () => render([], options.maxBytes).output;
    this.assertOpen();
    const release = await this.lockRead();
    try {
      const deadline = this.now() + options.timeoutMs;
      await this.maybeAutoCommit(false);
      for (let round = 0; ; round++) {
        if (this.closed || options.signal.aborted) return nothing();
        if (this.state.type === 'none') {
          // Unsubscribed while this read waited: nothing more to deliver.
          if (round > 0) return nothing();
          throw new ApiError('ILLEGAL_STATE', `Consumer '${this.name}' is not subscribed to any topic and has no assigned partition`);
        }
        if (this.membership !== undefined) {
          await this.membership.heartbeat();
          if (!(await withDeadline(this.membership.ensureActive(), deadline, options.signal))) return nothing();
          if (await this.metadataChanged()) this.membership.requestRejoin();
          if (this.membership.rebalancing) continue;
        }
        const read = await this.fetcher.read(options.maxBytes, Math.max(0, deadline - this.now()), options.signal, render);
        if (read.count > 0 || !read.interrupted || this.now() >= deadline) return read.output;
      }
    } finally {
      release();
    }
  }

  /** Ends reads, commits consumed positions when auto-commit is on, and leaves the group. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dropAll();
  }

  private async dropAll(): Promise<void> {
    const membership = this.membership;
    if (membership !== undefined) {
      // Still the member while leaving: its revoke commits under its generation.
      await membership.leave();
      this.membership = undefined;
    } else {
      await this.fetcher.endRead();
      await this.maybeAutoCommit(true);
    }
    this.state.setAssignment([]);
    this.committedPositions.clear();
  }

  /** The membership's revoke: end the read, commit if auto-committing, give every partition up. */
  private async revokeAll(): Promise<void> {
    await this.fetcher.endRead();
    if (this.state.assignment().length === 0) return;
    await this.maybeAutoCommit(true);
    this.state.setAssignment([]);
    this.committedPositions.clear();
  }

  private onAssigned(assignment: Assignment): void {
    this.groupAssignment = assignment;
    this.state.setAssignment(assignment.partitions);
    this.committedPositions.clear();
  }

  private async maybeAutoCommit(force: boolean): Promise<void> {
    if (!this.config.autoCommitEnable) return;
    const now = this.now();
    if (!force && now - this.lastAutoCommit < this.config.autoCommitIntervalMs) return;
    this.lastAutoCommit = now;
    const changed = this.state.allPositions().filter((p) => this.committedPositions.get(`${p.topic}\u0000${p.partition}`) !== p.offset);
    if (changed.length === 0) return;
    if (this.membership !== undefined && this.membership.generationId < 0) return;
    try {
      await this.sendCommit(changed.map((p) => ({ ...p, metadata: '' })));
    } catch (err) {
      // Kafka's auto-commit logs and goes on; a member that fell out of its generation rejoins.
      this.options.logger.warn({ group: this.groupId, consumer: this.name, err }, 'auto-commit failed');
      if (isCoordinatorError(err, 'ILLEGAL_GENERATION') || isCoordinatorError(err, 'UNKNOWN_MEMBER_ID')) this.membership?.requestRejoin();
    }
  }

  private async sendCommit(offsets: OffsetAndMetadata[]): Promise<void> {
    const member = this.membership;
    await this.options.coordinator.commitOffsets({
      groupId: this.groupId,
      memberId: member?.memberId ?? '',
      generationId: member?.generationId ?? -1,
      offsets,
    });
    for (const o of offsets) this.committedPositions.set(`${o.topic}\u0000${o.partition}`, o.offset);
  }

  private async currentTopics(): Promise<string[]> {
    this.joinedTopics = this.state.type === 'pattern' ? this.state.matchPattern(await this.options.engine.listTopics()) : this.state.topics;
    return this.joinedTopics;
  }

  private async partitionCounts(topics: string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of topics) {
      const n = await this.options.engine.partitionCount(t);
      if (n !== undefined) counts[t] = n;
    }
    return counts;
  }

  /** Whether the subscription's topics or their partition counts differ from what the assignment was made from. */
  private async metadataChanged(): Promise<boolean> {
    const assignment = this.groupAssignment;
    if (assignment === undefined) return false;
    const topics = this.state.type === 'pattern' ? this.state.matchPattern(await this.options.engine.listTopics()) : this.state.topics;
    if (topics.join('\u0000') !== this.joinedTopics.join('\u0000')) return true;
    for (const t of topics) if ((await this.options.engine.partitionCount(t)) !== assignment.partitionCounts[t]) return true;
    return false;
  }

  private async assertPartitionsExist(partitions: TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const count = await this.options.engine.partitionCount(tp.topic);
      if (count === undefined) throw new ApiError('TOPIC_NOT_FOUND', `Topic '${tp.topic}' not found`);
      if (tp.partition >= count) throw new ApiError('PARTITION_NOT_FOUND', `Partition ${tp.partition} of topic '${tp.topic}' not found`);
    }
  }

  private assertAssigned(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      if (!this.state.isAssigned(tp.topic, tp.partition)) {
        throw new ApiError('ILLEGAL_STATE', `Partition ${tp.topic}-${tp.partition} is not assigned to consumer '${this.name}'`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ApiError('CONSUMER_INSTANCE_NOT_FOUND', `Consumer instance '${this.name}' of group '${this.groupId}' was closed`);
  }

  private async lockRead(): Promise<() => void> {
    const previous = this.readLock;
    let release!: () => void;
    this.readLock = new Promise<void>((r) => (release = r));
    await previous;
    return release;
  }
}

function mutuallyExclusive(): ApiError {
  return new ApiError('ILLEGAL_STATE', 'Subscription to topics, partitions and pattern are mutually exclusive');
}
