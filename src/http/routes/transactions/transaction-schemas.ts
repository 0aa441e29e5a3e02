import { Type } from 'typebox';
import { RecordHeaderSchema } from '../../schemas';
import type { TransactionMetadata } from '../../../coordinator/transaction/transaction-metadata';

export const TransactionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The transaction id `POST /transactions` answered' }) });

export const TransactionRecord = Type.Object({
  topic: Type.String({ minLength: 1 }),
  key: Type.Optional(Type.Unknown()),
  value: Type.Optional(Type.Unknown()),
  partition: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
  headers: Type.Optional(Type.Union([Type.Array(RecordHeaderSchema), Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))])),
  timestamp: Type.Optional(Type.Integer()),
});

export const BeginBody = Type.Object({
  transactional_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Kafka's transactional.id: a new transaction for the same id fences the previous one" })),
  timeout_ms: Type.Optional(Type.Integer({ description: "Kafka's transaction.timeout.ms: the coordinator aborts the transaction when it is open longer" })),
  records: Type.Optional(Type.Array(TransactionRecord, { description: 'The one-shot form: these records are written and committed atomically in this request' })),
});

export const RecordsBody = Type.Object({ records: Type.Array(TransactionRecord) });

export const OffsetsBody = Type.Object({
  group_id: Type.String({ minLength: 1 }),
  member_id: Type.Optional(Type.String({ description: "The consumer's member id; absent for a consumer outside group management" })),
  generation_id: Type.Optional(Type.Integer({ description: "The member's generation; -1 (default) outside group management" })),
  offsets: Type.Array(
    Type.Object({
      topic: Type.String({ minLength: 1 }),
      partition: Type.Integer({ minimum: 0 }),
      offset: Type.Integer({ minimum: 0, description: 'The next offset to consume, as Kafka commits it' }),
      metadata: Type.Optional(Type.String()),
    }),
    { minItems: 1 },
  ),
});

const TopicPartitionView = Type.Object({ topic: Type.String(), partition: Type.Integer() });

export const TransactionView = Type.Object(
  {
    transaction_id: Type.String(),
    transactional_id: Type.String(),
    producer_id: Type.Integer(),
    producer_epoch: Type.Integer(),
    state: Type.String({ description: 'Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort or Dead' }),
    timeout_ms: Type.Integer(),
    expires_at: Type.Union([Type.Integer(), Type.Null()], { description: 'ms since the epoch when an open transaction is aborted; null once it ended' }),
    abort_reason: Type.Union([Type.String(), Type.Null()], { description: 'timeout, restart or fenced when the coordinator aborted it' }),
    partitions: Type.Array(TopicPartitionView),
    offsets: Type.Array(Type.Object({ group_id: Type.String(), offsets: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Integer(), metadata: Type.String() })) })),
  },
  { $id: 'Transaction', title: 'Transaction' },
);

export const RecordOffsets = Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Integer() }));

export function transactionView(meta: TransactionMetadata) {
  return {
    transaction_id: meta.transactionId,
    transactional_id: meta.transactionalId,
    producer_id: meta.producerId,
    producer_epoch: meta.producerEpoch,
    state: meta.state,
    timeout_ms: meta.timeoutMs,
    expires_at: meta.state === 'Ongoing' ? meta.startTimestamp + meta.timeoutMs : null,
    abort_reason: meta.abortReason ?? null,
    partitions: meta.partitions,
    offsets: meta.pendingOffsets.map((g) => ({ group_id: g.groupId, offsets: g.offsets })),
  };
}
