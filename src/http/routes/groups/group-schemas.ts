import { Type } from 'typebox';
import { MAX_TOPIC_NAME_LENGTH } from '../../../engine/topic-name';
import { PartitionOffsetSchema } from '../consumers/consumer-schemas';

const State = Type.Union([
  Type.Literal('Empty'),
  Type.Literal('PreparingRebalance'),
  Type.Literal('CompletingRebalance'),
  Type.Literal('Stable'),
  Type.Literal('Dead'),
]);
const Nullable = <T extends ReturnType<typeof Type.Integer> | ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const GroupOverviewView = Type.Object({ group_id: Type.String(), state: State, protocol_type: Type.String(), members: Type.Integer() });

export const GroupDetailView = Type.Object(
  {
    group_id: Type.String(),
    state: State,
    protocol_type: Type.String(),
    protocol: Type.String({ description: "The group's assignor; empty without members" }),
    generation_id: Type.Integer(),
    leader: Nullable(Type.String()),
    members: Type.Array(
      Type.Object({
        member_id: Type.String(),
        client_id: Type.String({ description: 'The consumer instance id' }),
        subscription: Type.Array(Type.String()),
        assignments: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer() })),
      }),
    ),
    partitions: Type.Array(
      Type.Object({
        topic: Type.String(),
        partition: Type.Integer(),
        committed_offset: Nullable(Type.Integer()),
        metadata: Type.String(),
        log_end_offset: Nullable(Type.Integer()),
        lag: Nullable(Type.Integer()),
        member_id: Nullable(Type.String()),
        client_id: Nullable(Type.String()),
      }),
    ),
  },
  { $id: 'ConsumerGroup', title: 'ConsumerGroup' },
);

export const ResetOffsetsBody = Type.Object({
  to: Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('timestamp'), Type.Literal('offsets')]),
  timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'For to=timestamp: ms since the epoch' })),
  topics: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_TOPIC_NAME_LENGTH }), { description: "Every partition of these topics; default: the group's committed partitions" })),
  offsets: Type.Optional(Type.Array(PartitionOffsetSchema, { description: 'For to=offsets' })),
});
