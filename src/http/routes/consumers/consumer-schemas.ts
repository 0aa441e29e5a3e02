import { Type } from 'typebox';
import { MAX_TOPIC_NAME_LENGTH } from '../../../engine/topic-name';

/** TypeBox schemas of the consumer instance routes: the Confluent REST Proxy v2 bodies. */

const Name = (description: string) => Type.String({ minLength: 1, maxLength: 255, description });
const Topic = Type.String({ minLength: 1, maxLength: MAX_TOPIC_NAME_LENGTH });
const Partition = Type.Integer({ minimum: 0, maximum: 2147483647 });
const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const BoolOrString = () => Type.Union([Type.Boolean(), Type.String()]);
const IntOrString = () => Type.Union([Type.Integer(), Type.String()]);

export const GroupParams = Type.Object({ group: Name('Consumer group id') });
export const InstanceParams = Type.Object({ group: Name('Consumer group id'), instance: Name('Consumer instance id') });

export const CreateConsumerBody = Type.Object(
  {
    name: Type.Optional(Name('Instance id; generated when absent')),
    format: Type.Optional(Type.String({ description: 'json, binary (default) or string' })),
    'auto.offset.reset': Type.Optional(Type.String({ description: 'earliest, latest (default) or none' })),
    'auto.commit.enable': Type.Optional(BoolOrString()),
    'enable.auto.commit': Type.Optional(BoolOrString()),
    'auto.commit.interval.ms': Type.Optional(IntOrString()),
    'fetch.min.bytes': Type.Optional(IntOrString()),
    'consumer.request.timeout.ms': Type.Optional(IntOrString()),
    'isolation.level': Type.Optional(Type.String({ description: 'read_committed (default) or read_uncommitted' })),
    'partition.assignment.strategy': Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'range (default) and/or roundrobin, in order of preference' })),
  },
  { additionalProperties: true },
);

export const CreatedConsumer = Type.Object({ instance_id: Type.String(), base_uri: Type.String() });

export const TopicPartitionSchema = Type.Object({ topic: Topic, partition: Partition });
export const PartitionsBody = Type.Object({ partitions: Type.Array(TopicPartitionSchema) });
export const PartitionOffsetSchema = Type.Object({ topic: Topic, partition: Partition, offset: Offset });
export const PositionsBody = Type.Object({ offsets: Type.Array(PartitionOffsetSchema, { minItems: 1 }) });

export const SubscriptionBody = Type.Object({
  topics: Type.Optional(Type.Array(Topic, { minItems: 1 })),
  topic_pattern: Type.Optional(Type.String({ minLength: 1, description: 'A regular expression a topic name must match in full' })),
});
export const SubscriptionView = Type.Object({ topics: Type.Array(Type.String()) });

export const CommitBody = Type.Object({
  offsets: Type.Optional(
    Type.Array(Type.Object({ topic: Topic, partition: Partition, offset: Offset, metadata: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])) })),
  ),
});
export const CommittedOffsetsView = Type.Object({
  offsets: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Integer(), metadata: Type.String() })),
});
export const PositionsView = Type.Object({ offsets: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Integer() })) });

export const TimestampSeekBody = Type.Object({
  timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch, for every partition that names none' })),
  partitions: Type.Optional(
    Type.Array(Type.Object({ topic: Topic, partition: Partition, timestamp: Type.Optional(Type.Integer({ minimum: 0 })) }), {
      description: 'Default: every assigned partition',
    }),
  ),
});
