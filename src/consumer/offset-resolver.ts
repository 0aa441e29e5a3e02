import { ApiError } from '../errors';
import type { IsolationLevel, OffsetSpec, StorageEngine } from '../engine/storage-engine';
import type { GroupCoordinator, TopicPartition } from '../coordinator/group/group-coordinator';
import type { AutoOffsetReset } from './consumer-config';

/**
 * Where a partition's reading starts, as Kafka's consumer decides it: the group's committed offset,
 * else `auto.offset.reset` (earliest = log start offset, latest = high watermark, none = an error
 * the client must answer with a seek). Also resolves explicit seeks to the beginning, the end or a
 * timestamp.
 */
export class OffsetResolver {
  constructor(
    private readonly engine: StorageEngine,
    private readonly coordinator: GroupCoordinator,
    private readonly groupId: string,
    private readonly reset: AutoOffsetReset,
    private readonly isolationLevel: IsolationLevel,
  ) {}

  /** Committed offset, or the reset policy's offset, for each partition. */
  async startingOffsets(partitions: TopicPartition[]): Promise<Array<TopicPartition & { offset: number }>> {
    const committed = await this.coordinator.fetchOffsets(this.groupId, partitions);
    return Promise.all(
      committed.map(async (c) => ({ topic: c.topic, partition: c.partition, offset: c.offset >= 0 ? c.offset : await this.resetOffset(c) })),
    );
  }

  /** The reset policy's offset: used without a committed offset and when a position is out of range. */
  async resetOffset(tp: TopicPartition): Promise<number> {
    if (this.reset === 'none') {
      throw new ApiError(
        'ILLEGAL_STATE',
        `No committed offset for ${tp.topic}-${tp.partition} in group '${this.groupId}' and auto.offset.reset is none; set a position first`,
      );
    }
    return this.offsetFor(tp, this.reset);
  }

  offsetFor(tp: TopicPartition, spec: OffsetSpec): Promise<number> {
    return offsetForSpec(this.engine, tp, spec, this.isolationLevel);
  }
}

/** earliest, latest, or the first offset whose timestamp is at or after t (the end when there is none). */
export async function offsetForSpec(engine: StorageEngine, tp: TopicPartition, spec: OffsetSpec, isolationLevel?: IsolationLevel): Promise<number> {
  const found = await engine.listOffset(tp.topic, tp.partition, spec, isolationLevel);
  if (found.offset >= 0) return found.offset;
  return (await engine.listOffset(tp.topic, tp.partition, 'latest', isolationLevel)).offset;
}
