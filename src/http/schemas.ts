import { Type } from 'typebox';
import { MAX_TOPIC_NAME_LENGTH } from '../engine/topic-name';

/** Schemas shared by several route groups. Each appears once in the OpenAPI spec. */
export const ErrorSchema = Type.Object(
  {
    error_code: Type.Integer({ description: '5-digit code: HTTP status × 100 + sub-code (see the README error table)' }),
    message: Type.String(),
  },
  { $id: 'Error', title: 'Error' },
);

export const errorRef = Type.Ref('Error');

/** Error responses every route may give, plus the ones it names. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of [400, ...statuses, 500]) out[s] = errorRef;
  return out;
}

export const TopicParams = Type.Object({
  topic: Type.String({ minLength: 1, description: `Topic name: [a-zA-Z0-9._-], at most ${MAX_TOPIC_NAME_LENGTH} characters` }),
});

export const PartitionParams = Type.Object({
  topic: Type.String({ minLength: 1 }),
  partition: Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Partition id' }),
});

export const RecordHeaderSchema = Type.Object({ key: Type.String(), value: Type.Union([Type.Null(), Type.String()]) });

/** A record as reads return it (stateless reads, consumer instances, SSE events). */
export const WireRecordSchema = Type.Object(
  {
    topic: Type.String(),
    key: Type.Unknown({ description: 'JSON value (json format), base64 (binary) or text (string); null for no key' }),
    value: Type.Unknown({ description: 'As key' }),
    partition: Type.Integer(),
    offset: Type.Integer(),
    timestamp: Type.Integer({ description: 'ms since the epoch' }),
    headers: Type.Array(RecordHeaderSchema),
  },
  { $id: 'Record', title: 'Record' },
);
