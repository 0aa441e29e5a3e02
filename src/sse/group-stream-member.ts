import type { Logger } from 'pino';
import type { IsolationLevel, OffsetSpec, StorageEngine } from '../engine/storage-engine';
import type { Assignment, GroupCoordinator, OffsetAndMetadata, TopicPartition } from '../coordinator/group/group-coordinator';
import { isCoordinatorError } from '../coordinator/group/coordinator-error';
import { GroupMembership } from '../consumer/group-membership';
import { offsetForSpec } from '../consumer/offset-resolver';
import type { EventStream } from './event-stream';
import { knownPartitionCounts } from './start-position';
import type { TopicSet } from './stream-cursor';

export interface GroupStreamOptions {
  coordinator: GroupCoordinator;
  engine: StorageEngine;
  groupId: string;
  clientId: string;
  topics: TopicSet;
  /** Where a partition the group has no committed offset for starts (the stream's `from`). */
  reset: OffsetSpec;
  isolationLevel: IsolationLevel;
  logger: Logger;
}

/** Kafka's heartbeat.interval.ms is a third of the session; a member is a server-side object, so both are short. */
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
/** Members are on this server and rejoin at once when asked; a rebalance never waits long for them. */
const REBALANCE_TIMEOUT_MS = 5_000;
/** The range assignor, as consumer instances use by default, so SSE streams and instances can share a group. */
const ASSIGNORS = ['range'];

/**
 * An event stream as a member of a consumer group (`group=`): the group coordinator shares the
 * topics' partitions among the group's streams (and consumer instances), joining, leaving and
 * dropped connections rebalance, and the offsets the stream delivered are committed.
 *
 * Eager rebalancing, as GroupMembership does it: before each join the stream stops reading every
 * partition and commits what it delivered, so a partition is never streamed by two members at once
 * and its next owner starts right after the last record delivered. A partition starts at the
 * group's committed offset, else at the stream's `from`. Delivered offsets are also committed once
 * a second while they move, and when the stream ends (the member then leaves).
 *
 * What "delivered" means: written to the connection. Records in flight when a connection drops are
 * committed but may not have reached the client, so a group stream resumes from the group's
 * commits, not from the client's Last-Event-ID.
 */
export class GroupStreamMember {
  private readonly membership: GroupMembership;
  private stream: EventStream | undefined;
  private assigned: TopicPartition[] = [];
  private counts: Record<string, number> = {};
  /** Bumped on every revoke: an assignment resolved after a newer revoke is dropped. */
  private epoch = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastCommitted = '';
  private leaving: Promise<void> | undefined;

  constructor(private readonly options: GroupStreamOptions) {
    this.membership = new GroupMembership(
      options.coordinator,
      {
        groupId: options.groupId,
        clientId: options.clientId,
        assignors: ASSIGNORS,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      },
      {
        subscription: async () => ({ topics: [...options.topics.topics] }),
        partitionCounts: (topics) => knownPartitionCounts(options.engine, topics),
        revoke: () => this.revoke(),
        assign: (assignment) => this.onAssigned(assignment),
      },
      options.logger,
    );
  }

  /** Joins the group; rejects (a CoordinatorError) when the group refuses this member. */
  async join(): Promise<void> {
    await this.membership.ensureActive();
  }

  /** Streams the assigned partitions into `stream` from now on; heartbeats and commits while it lives. */
  attach(stream: EventStream): void {
    this.stream = stream;
    this.timer = setInterval(() => void this.tick(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
    void this.startAssigned(this.epoch);
  }

  /** Commits what was delivered and leaves the group; the others rebalance. */
  leave(): Promise<void> {
    this.leaving ??= (async () => {
      if (this.timer !== undefined) clearInterval(this.timer);
      await this.membership.leave();
    })();
    return this.leaving;
  }

  private async revoke(): Promise<void> {
    this.epoch++;
    this.assigned = [];
    const delivered = this.stream?.revokeAll() ?? [];
    await this.commit(delivered);
  }

  private onAssigned(assignment: Assignment): void {
    this.assigned = assignment.partitions.filter((tp) => this.options.topics.indexOf(tp.topic) >= 0);
    this.counts = assignment.partitionCounts;
    void this.startAssigned(this.epoch);
  }

  /** Starts the assigned partitions at the group's committed offsets (else `from`). */
  private async startAssigned(epoch: number): Promise<void> {
    const stream = this.stream;
    const partitions = this.assigned;
    if (stream === undefined || partitions.length === 0) return;
    try {
      const committed = await this.options.coordinator.fetchOffsets(this.options.groupId, partitions);
      const starts = await Promise.all(
        committed.map(async (c) => ({
          ...c,
          offset: c.offset >= 0 ? c.offset : await offsetForSpec(this.options.engine, c, this.options.reset, this.options.isolationLevel),
        })),
      );
      if (epoch !== this.epoch || this.leaving !== undefined) return;
      for (const s of starts) stream.addPartition(this.options.topics.indexOf(s.topic), s.partition, s.offset);
    } catch (err) {
      this.options.logger.warn({ err, group: this.options.groupId }, 'could not start the assigned partitions');
      stream.end('error', `Could not start the partitions the group assigned: ${(err as Error).message}`);
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.membership.heartbeat();
      if (await this.topicsGrew()) this.membership.requestRejoin();
      if (!this.membership.rebalancing && this.stream !== undefined) await this.commit(this.stream.readPositions());
    } catch (err) {
      this.options.logger.debug({ err, group: this.options.groupId }, 'group stream heartbeat failed');
    }
  }

  /** Kafka's leader rebalances when a subscribed topic's partition count changes. */
  private async topicsGrew(): Promise<boolean> {
    for (const topic of this.options.topics.topics) {
      const known = this.counts[topic];
      const now = await this.options.engine.partitionCount(topic);
      if (now !== undefined && known !== undefined && now !== known) return true;
    }
    return false;
  }

  private async commit(positions: Array<TopicPartition & { offset: number }>): Promise<void> {
    if (positions.length === 0 || this.membership.generationId < 0) return;
    const offsets: OffsetAndMetadata[] = positions.map((p) => ({ ...p, metadata: '' }));
    const key = JSON.stringify(offsets);
    if (key === this.lastCommitted) return;
    try {
      await this.options.coordinator.commitOffsets({
        groupId: this.options.groupId,
        memberId: this.membership.memberId,
        generationId: this.membership.generationId,
        offsets,
      });
      this.lastCommitted = key;
    } catch (err) {
      if (!isCoordinatorError(err)) throw err;
      this.options.logger.debug({ err, group: this.options.groupId }, 'commit refused');
    }
  }
}
