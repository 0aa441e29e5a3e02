import { Type } from 'typebox';
import type { PartitionDescription, TopicDescription } from '../../../engine/storage-engine';

/**
 * Topic and partition bodies in the Confluent REST Proxy v2 shape (name, configs, partitions with
 * leader and replicas), extended with each partition's log start offset, high watermark, last
 * stable offset and size.
 */
export const ReplicaView = Type.Object({ broker: Type.Integer(), leader: Type.Boolean(), in_sync: Type.Boolean() });

export const PartitionView = Type.Object(
  {
    partition: Type.Integer(),
    leader: Type.Integer(),
    replicas: Type.Array(ReplicaView),
    log_start_offset: Type.Integer(),
    high_watermark: Type.Integer(),
    last_stable_offset: Type.Integer(),
    size_bytes: Type.Integer({ description: '-1 where the engine cannot tell' }),
  },
  { $id: 'Partition', title: 'Partition' },
);

export const TopicView = Type.Object(
  {
    name: Type.String(),
    internal: Type.Boolean(),
    configs: Type.Record(Type.String(), Type.String()),
    partitions: Type.Array(Type.Ref('Partition')),
  },
  { $id: 'Topic', title: 'Topic' },
);

export function partitionView(p: PartitionDescription) {
  return {
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas.map((broker) => ({ broker, leader: broker === p.leader, in_sync: p.isr.includes(broker) })),
    log_start_offset: p.logStartOffset,
    high_watermark: p.highWatermark,
    last_stable_offset: p.lastStableOffset,
    size_bytes: p.sizeBytes,
  };
}

export function topicView(t: TopicDescription) {
  return { name: t.name, internal: t.internal, configs: t.configs, partitions: t.partitions.map(partitionView) };
}
