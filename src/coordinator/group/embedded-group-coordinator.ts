import type { Logger } from 'pino';
import type { StorageEngine } from '../../engine/storage-engine';
import { ensureInternalTopic, holdInternalRetention, INTERNAL_TOPIC_RETENTION_MS, releaseInternalRetention, replayPartition } from '../internal-partition';
import { LiveRecords, refreshBatches } from '../live-records';
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
  /** Kafka's offsets.retention.minutes, in ms: how long an empty group keeps its committed offsets. Default 7 days. */
  offsetsRetentionMs?: number;
  /** Kafka's offsets.retention.check.interval.ms: how often offsets expire and old records are re-appended. Default 600000. */
  offsetsRetentionCheckIntervalMs?: number;
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
 *
 * The embedded engine has no compaction, so the coordinator keeps its own records from ageing out:
 * each pass (at load, then every offsetsRetentionCheckIntervalMs) expires offsets as Kafka does
 * (GroupCoordinatorShard.expireOffsets) and re-appends, unchanged, every current record older than
 * half of INTERNAL_TOPIC_RETENTION_MS (see internal-partition.ts for why that is sound). Expiry
 * leaves groups with a write in flight, and the refresh keys with one, to the next pass: their
 * records, appended after, would otherwise overtake that write.
 */
export class EmbeddedGroupCoordinator implements GroupCoordinator {
  private shards: GroupCoordinatorShard[] = [];
  private tails: Promise<void>[] = [];
  private live: LiveRecords[] = [];
  /** Groups with a write in flight, and how many. */
  private readonly writing = new Map<string, number>();
  private sweep: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private cleaning: Promise<void> | undefined;
  private retentionReleased = false;
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
    this.live = shards.map(() => new LiveRecords());
    const started = this.now();
    let records = 0;
    for (const shard of shards) records += await this.replayPartition(shard);
    if (this.status === 'closed') return;
    for (const shard of shards) shard.settleLoaded();
    // Their groups are busy until written, and the first pass should leave none behind.
    await Promise.all(this.tails);
    await this.runOffsetsRetention();
    this.retentionTimer = setInterval(() => void this.runOffsetsRetention(), this.options.offsetsRetentionCheckIntervalMs ?? 600_000);
    this.retentionTimer.unref();
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
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    this.status = 'closed';
    await this.cleaning;
    for (const shard of this.shards) shard.shutdown();
    await Promise.all(this.tails);
    if (this.retentionReleased) await holdInternalRetention(this.engine, CONSUMER_OFFSETS_TOPIC);
    this.retentionReleased = false;
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

  /**
   * One pass of offsets retention and record refresh over every partition; concurrent calls share
   * the running pass. Retention of the topic, held at load, is released after the first full pass.
   */
  runOffsetsRetention(): Promise<void> {
    if (this.shards.length === 0) return Promise.resolve();
    this.cleaning ??= (async () => {
      const now = this.now();
      const retentionMs = this.options.offsetsRetentionMs ?? 604_800_000;
      let incomplete = false;
      for (const shard of this.shards) {
        if (this.status === 'closed') return;
        const busy = (groupId: string) => this.writing.has(groupId);
        const expiring = shard.expireOffsets(now, retentionMs, busy);
        const refresh = this.refresh(shard, now - INTERNAL_TOPIC_RETENTION_MS / 2);
        if (refresh.skipped > 0) incomplete = true;
        const done = await Promise.allSettled([...expiring.map((r) => this.run(shard, r)), ...refresh.appends]);
        for (const d of done) {
          if (d.status === 'fulfilled') continue;
          incomplete = true;
          this.logger.warn({ err: d.reason, partition: shard.partition }, 'offsets retention failed; retrying on the next pass');
        }
        if (expiring.length > 0) this.logger.info({ partition: shard.partition, groups: expiring.length }, 'expired committed offsets');
      }
      // Released only after a pass that left no old record behind (a failed append, a busy group).
      if (incomplete || this.retentionReleased || this.status === 'closed') return;
      await releaseInternalRetention(this.engine, CONSUMER_OFFSETS_TOPIC);
      this.retentionReleased = true;
    })()
      .catch((err: unknown) => this.logger.warn({ err }, 'offsets retention failed; retrying on the next pass'))
      .finally(() => (this.cleaning = undefined));
    return this.cleaning;
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
    const now = this.now();
    const encoded = records.map((r) => encodeCoordinatorRecord(r, now));
    return this.append(shard, encoded, now, new Set(records.map((r) => r.group)), () => {
      for (const r of records) shard.replay(r);
    });
  }

  /** Re-appends, unchanged, the current records older than `cutoff` of keys with no append in flight; counts those left for the next pass. */
  private refresh(shard: GroupCoordinatorShard, cutoff: number): { appends: Promise<void>[]; skipped: number } {
    const live = this.live[shard.partition] as LiveRecords;
    const old = live.olderThan(cutoff);
    const stale = old.filter((r) => !live.isPending(r.key));
    const now = this.now();
    const appends = refreshBatches(stale).map((batch) => {
      const groups = new Set(batch.flatMap((r) => decodeCoordinatorRecord(r.key, null)?.group ?? []));
      return this.append(shard, batch.map((r) => ({ key: r.key, value: r.value })), now, groups, () => undefined);
    });
    return { appends, skipped: old.length - stale.length };
  }

  private append(shard: GroupCoordinatorShard, encoded: Array<{ key: Buffer; value: Buffer | null }>, now: number, groups: Set<string>, apply: () => void): Promise<void> {
    if (this.status === 'closed') return Promise.reject(new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closed'));
    const appended = this.engine.append(CONSUMER_OFFSETS_TOPIC, shard.partition, encoded.map((r) => ({ key: r.key, value: r.value, timestamp: now })), { acks: -1 });
    appended.catch(() => undefined); // handled below, once the predecessor is applied
    for (const g of groups) this.writing.set(g, (this.writing.get(g) ?? 0) + 1);
    const p = shard.partition;
    const live = this.live[p] as LiveRecords;
    const keys = encoded.map((r) => r.key);
    live.issued(keys);
    const applied = (this.tails[p] as Promise<void>)
      .then(() => appended)
      .then(
        () => {
          apply();
          for (const r of encoded) live.observe(r.key, r.value, now);
        },
        (err: unknown) => {
          throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `Could not write to ${CONSUMER_OFFSETS_TOPIC}-${p}: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          });
        },
      );
    this.tails[p] = applied.catch(() => undefined);
    return applied.finally(() => {
      live.settled(keys);
      for (const g of groups) {
        const n = (this.writing.get(g) ?? 1) - 1;
        if (n === 0) this.writing.delete(g);
        else this.writing.set(g, n);
      }
    });
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
    const live = this.live[shard.partition] as LiveRecords;
    return replayPartition(this.engine, CONSUMER_OFFSETS_TOPIC, shard.partition, (r) => {
      live.observeReplayed(r);
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
