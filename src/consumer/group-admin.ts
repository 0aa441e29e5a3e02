import { ApiError } from '../errors';
import { isEngineError } from '../engine/engine-error';
import type { StorageEngine } from '../engine/storage-engine';
import { isCoordinatorError } from '../coordinator/group/coordinator-error';
import type { GroupCoordinator, GroupDescription, GroupOverview, OffsetAndMetadata, TopicPartition } from '../coordinator/group/group-coordinator';
import { fromCoordinatorError } from './coordinator-api-errors';
import { offsetForSpec } from './offset-resolver';

/** One partition of a group as kafka-consumer-groups --describe shows it. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** null when the group has not committed for the partition. */
  committedOffset: number | null;
  metadata: string;
  /** High watermark; null when the topic is gone. */
  logEndOffset: number | null;
  /** logEndOffset - committedOffset; null when either is unknown. */
  lag: number | null;
  /** The member that owns the partition now, if any. */
  memberId: string | null;
  clientId: string | null;
}

export interface GroupDetail extends Omit<GroupDescription, 'offsets'> {
  partitions: PartitionLag[];
}

export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offsets: Array<TopicPartition & { offset: number }> };

/**
 * Group administration over the coordinator and the engine: describe with lag (as
 * kafka-consumer-groups --describe), delete, and offset resets (--reset-offsets --to-earliest,
 * --to-latest, --to-datetime, --to-offset), which Kafka allows only while no member is active.
 * Coordinator errors leave here as client errors (40405, 40903).
 */
export class GroupAdmin {
  constructor(
    private readonly engine: StorageEngine,
    private readonly coordinator: GroupCoordinator,
  ) {}

  list(): Promise<GroupOverview[]> {
    return mapErrors(() => this.coordinator.listGroups());
  }

  async describe(groupId: string): Promise<GroupDetail> {
    const { offsets, ...group } = await mapErrors(() => this.coordinator.describeGroup(groupId));
    const owners = new Map<string, { memberId: string; clientId: string }>();
    for (const m of group.members) for (const tp of m.assignment) owners.set(key(tp), { memberId: m.memberId, clientId: m.clientId });
    const rows = new Map<string, TopicPartition & { committedOffset: number | null; metadata: string }>();
    for (const o of offsets) rows.set(key(o), { topic: o.topic, partition: o.partition, committedOffset: o.offset, metadata: o.metadata });
    for (const m of group.members) for (const tp of m.assignment) if (!rows.has(key(tp))) rows.set(key(tp), { ...tp, committedOffset: null, metadata: '' });
    const partitions = await Promise.all(
      [...rows.values()].map(async (row) => {
        const logEndOffset = await this.highWatermark(row);
        const owner = owners.get(key(row));
        return {
          ...row,
          logEndOffset,
          lag: logEndOffset === null || row.committedOffset === null ? null : Math.max(0, logEndOffset - row.committedOffset),
          memberId: owner?.memberId ?? null,
          clientId: owner?.clientId ?? null,
        };
      }),
    );
    partitions.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return { ...group, partitions };
  }

  delete(groupId: string): Promise<void> {
    return mapErrors(() => this.coordinator.deleteGroup(groupId));
  }

  /**
   * Resets committed offsets of `topics` (all their partitions) or, without topics, of every
   * partition the group has committed; returns the offsets written.
   */
  async reset(groupId: string, target: ResetTarget, topics?: string[]): Promise<Array<TopicPartition & { offset: number }>> {
    let group: GroupDescription | undefined;
    try {
      group = await this.coordinator.describeGroup(groupId);
    } catch (err) {
      if (!isCoordinatorError(err, 'GROUP_ID_NOT_FOUND')) throw mapError(err);
    }
    if (group !== undefined && group.members.length > 0) {
      throw new ApiError('ILLEGAL_STATE', `Group '${groupId}' has ${group.members.length} active member(s); reset its offsets once they have left`);
    }
    let offsets: Array<TopicPartition & { offset: number }>;
    if (typeof target === 'object' && 'offsets' in target) offsets = target.offsets;
    else {
      const partitions = await this.targets(groupId, group, topics);
      offsets = await Promise.all(partitions.map(async (tp) => ({ ...tp, offset: await offsetForSpec(this.engine, tp, target) })));
    }
    await mapErrors(() => this.coordinator.resetOffsets(groupId, offsets.map((o): OffsetAndMetadata => ({ ...o, metadata: '' }))));
    return offsets;
  }

  private async targets(groupId: string, group: GroupDescription | undefined, topics: string[] | undefined): Promise<TopicPartition[]> {
    if (topics !== undefined && topics.length > 0) {
      const out: TopicPartition[] = [];
      for (const topic of topics) {
        const count = await this.engine.partitionCount(topic);
        if (count === undefined) throw new ApiError('TOPIC_NOT_FOUND', `Topic '${topic}' not found`);
        for (let partition = 0; partition < count; partition++) out.push({ topic, partition });
      }
      return out;
    }
    if (group === undefined) throw new ApiError('GROUP_NOT_FOUND', `Group '${groupId}' not found; name the topics to reset`);
    if (group.offsets.length === 0) throw new ApiError('INVALID_REQUEST', `Group '${groupId}' has no committed offsets; name the topics to reset`);
    return group.offsets.map((o) => ({ topic: o.topic, partition: o.partition }));
  }

  private async highWatermark(tp: TopicPartition): Promise<number | null> {
    try {
      return (await this.engine.listOffset(tp.topic, tp.partition, 'latest')).offset;
    } catch (err) {
      if (isEngineError(err) && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
      throw err;
    }
  }
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

function mapError(err: unknown): unknown {
  return isCoordinatorError(err) ? fromCoordinatorError(err) : err;
}

async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapError(err);
  }
}
