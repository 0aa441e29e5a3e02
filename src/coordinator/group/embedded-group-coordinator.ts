import type { Logger } from 'pino';
import type { StorageEngine } from '../../engine/storage-engine';
import { ensureInternalTopic, replayPartition } from '../internal-partition';
import { CoordinatorError } from './coordinator-error';
import { decodeCoordinatorRecord, encodeCoordinatorRecord, type CoordinatorRecord } from './coordinator-records';
import type { GroupContext } from './consumer-group';
import { GroupCoordinatorShard, type CoordinatorResult } from './group-coordinator-shard';
import type {
  CommittedOffset,
  GroupCoordinator,
  GroupDescription,
  GroupOverview,
  JoinGroupRequest,
  JoinGroupResponse,
  MemberRef,
  OffsetAndMetadata,
  OffsetCommitRequest,
  SyncGroupRequest,
  SyncGroupResponse,
  TopicPartition,
} from './group-coordinator';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

export interface EmbeddedGroupCoordinatorOptions {
  /**
   * offsets.topic.num.partitions when the topic is created; an existing topic keeps its count, since
   * it decides where each group's records are. Kafka's 50 spreads load over brokers; one process
   * needs a few.
   */
  offsetsTopicPartitions?: number;
  /** How often member sessions are checked (an interval, not a poll for data). */
  sessionCheckIntervalMs?: number;
  now?: () => number;
}

/**
 * The embedded engine's group coordinator. Each group belongs to one `__consumer_offsets` partition
 * (Kafka's rule: the absolute value of the group id's Java hashCode, modulo the partition count),
 * and each partition has a shard holding its groups' state. At start every partition is replayed
 * from its log start offset to its high watermark; after that, every state change that must survive
 * a restart is appended (acks=all) before it takes effect in memory and before its response.
 *
 * Writes to one partition are applied in the order they were appended: each waits for its
 * predecessor before its replay, while the appends themselves share the engine's group commit.
 */
export class EmbeddedGroupCoordinator implements GroupCoordinator {
  private shards: GroupCoordinatorShard[] = [];
  private tails: Promise<void>[] = [];
  private sweep: NodeJS.Timeout | undefined;
  private status: 'loading' | 'active' | 'closed' = 'loading';
  private loading: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly engine: StorageEngine,
    private readonly options: EmbeddedGroupCoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Loads once; a failed load (engine not started, partition offline) is retried by the next call. */
  start(): Promise<void> {
    if (this.status === 'closed') return Promise.reject(new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closed'));
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `The group coordinator could not load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const count = await ensureInternalTopic(this.engine, CONSUMER_OFFSETS_TOPIC, this.options.offsetsTopicPartitions ?? 4);
    const shards = Array.from({ length: count }, (_, p) => new GroupCoordinatorShard(p, this.contextFor(p)));
    this.shards = shards;
    this.tails = shards.map(() => Promise.resolve());
    const started = this.now();
    let records = 0;
    for (const shard of shards) records += await this.replayPartition(shard);
    if (this.status === 'closed') return;
    const interval = this.options.sessionCheckIntervalMs ?? 1000;
    this.sweep = setInterval(() => {
      const now = this.now();
      for (const shard of this.shards) shard.expireMembers(now);
    }, interval);
    this.sweep.unref();
    this.status = 'active';
    this.logger.info({ partitions: count, records, ms: this.now() - started }, 'group coordinator loaded');
  }

  async close(): Promise<void> {
    if (this.sweep !== undefined) clearInterval(this.sweep);
    this.status = 'closed';
    for (const shard of this.shards) shard.shutdown();
    await Promise.all(this.tails);
  }

  async joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    await this.start();
    if (request.groupId === '') throw new CoordinatorError('INVALID_GROUP_ID', 'The group id must not be empty');
    if (!(request.sessionTimeoutMs > 0) || !(request.rebalanceTimeoutMs > 0)) {
      throw new CoordinatorError('INVALID_SESSION_TIMEOUT', 'Session and rebalance timeouts must be positive');
    }
    return this.shardFor(request.groupId).groupForJoin(request.groupId).join(request);
  }

  async syncGroup(request: SyncGroupRequest): Promise<SyncGroupResponse> {
    await this.start();
    return this.liveGroup(request.groupId, request.memberId).sync(request);
  }

  async heartbeat(member: MemberRef): Promise<void> {
    await this.start();
    this.liveGroup(member.groupId, member.memberId).heartbeat(member.memberId, member.generationId);
  }

  async leaveGroup(groupId: string, memberId: string): Promise<void> {
    await this.start();
    this.liveGroup(groupId, memberId).leave(memberId);
  }

  async commitOffsets(request: OffsetCommitRequest): Promise<void> {
    await this.start();
    const shard = this.shardFor(request.groupId);
    return this.run(shard, shard.commitOffsets(request));
  }

  /** TxnOffsetCommit's membership check, without the write: the offsets wait in the transaction. */
  async validateTxnOffsetCommit(request: OffsetCommitRequest): Promise<void> {
    await this.start();
    // The same checks as a commit; its records are dropped unwritten.
    this.shardFor(request.groupId).commitOffsets(request);
  }

  /** Offsets a committed transaction decided: written without a membership check (done when they were sent). */
  async commitTxnOffsets(groupId: string, offsets: OffsetAndMetadata[]): Promise<void> {
    await this.start();
    const shard = this.shardFor(groupId);
    return this.run(shard, shard.commitTxnOffsets(groupId, offsets));
  }

  async fetchOffsets(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]> {
    await this.start();
    return this.shardFor(groupId).fetchOffsets(groupId, partitions);
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    await this.start();
    return this.shardFor(groupId).describe(groupId);
  }

  async listGroups(): Promise<GroupOverview[]> {
    await this.start();
    return this.shards.flatMap((s) => s.list()).sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.start();
    const shard = this.shardFor(groupId);
    return this.run(shard, shard.deleteGroup(groupId));
  }

  async resetOffsets(groupId: string, offsets: OffsetAndMetadata[]): Promise<void> {
    await this.start();
    const shard = this.shardFor(groupId);
    return this.run(shard, shard.resetOffsets(groupId, offsets));
  }

  /** The `__consumer_offsets` partition of a group: Kafka's Utils.abs(groupId.hashCode) % partitions. */
  partitionFor(groupId: string): number {
    this.checkActive();
    return partitionForGroup(groupId, this.shards.length);
  }

  private shardFor(groupId: string): GroupCoordinatorShard {
    return this.shards[this.partitionFor(groupId)] as GroupCoordinatorShard;
  }

  private liveGroup(groupId: string, memberId: string) {
    const group = this.shardFor(groupId).group(groupId);
    if (group === undefined) throw new CoordinatorError('UNKNOWN_MEMBER_ID', `Member '${memberId}' is not in group '${groupId}'`);
    return group;
  }

  private checkActive(): void {
    if (this.status === 'active') return;
    if (this.status === 'closed') throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closed');
    throw new CoordinatorError('COORDINATOR_LOAD_IN_PROGRESS', 'The group coordinator is loading');
  }

  private async run<T>(shard: GroupCoordinatorShard, result: CoordinatorResult<T>): Promise<T> {
    if (result.records.length > 0) {
      try {
        await this.write(shard, result.records);
      } catch (err) {
        result.onFailure?.(err);
        throw err;
      }
    }
    return result.response();
  }

  private write(shard: GroupCoordinatorShard, records: CoordinatorRecord[]): Promise<void> {
    if (this.status === 'closed') return Promise.reject(new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closed'));
    const now = this.now();
    const appended = this.engine.append(CONSUMER_OFFSETS_TOPIC, shard.partition, records.map((r) => encodeCoordinatorRecord(r, now)), { acks: -1 });
    appended.catch(() => undefined); // handled below, once the predecessor is applied
    const p = shard.partition;
    const applied = (this.tails[p] as Promise<void>)
      .then(() => appended)
      .then(
        () => {
          for (const r of records) shard.replay(r);
        },
        (err: unknown) => {
          throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `Could not write to ${CONSUMER_OFFSETS_TOPIC}-${p}: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          });
        },
      );
    this.tails[p] = applied.catch(() => undefined);
    return applied;
  }

  private contextFor(partition: number): GroupContext {
    return {
      now: this.now,
      write: (records) => this.write(this.shards[partition] as GroupCoordinatorShard, records),
      logger: this.logger,
    };
  }

  /** Replays one partition from its log start offset to its high watermark; returns the record count. */
  private replayPartition(shard: GroupCoordinatorShard): Promise<number> {
    return replayPartition(this.engine, CONSUMER_OFFSETS_TOPIC, shard.partition, (r) => {
      const record = decodeCoordinatorRecord(r.key, r.value);
      if (record === undefined) this.logger.warn({ partition: shard.partition, offset: r.offset }, 'skipping a coordinator record of an unknown version');
      else shard.replay(record);
    });
  }
}

/** Java's String.hashCode over UTF-16 code units, made non-negative as Kafka's Utils.abs does (& 0x7fffffff). */
export function partitionForGroup(groupId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % partitions;
}
