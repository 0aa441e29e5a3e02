import { ApiError } from '../errors';
import type { IsolationLevel, OffsetSpec, StorageEngine } from '../engine/storage-engine';
import { offsetForSpec } from '../consumer/offset-resolver';
import { CursorError, decodeCursor, NOT_READ, type StreamPositions, type TopicSet } from './stream-cursor';

/** Where a stream starts: a position of the log, or a cursor (from Last-Event-ID or `cursor=`). */
export type StartSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'timestamp'; timestamp: number }
  | { kind: 'cursor'; positions: StreamPositions };

/** The log position a non-cursor start names; a cursor has none (a group then starts new partitions at the end). */
export function offsetSpecOf(start: StartSpec): OffsetSpec {
  if (start.kind === 'timestamp') return { timestamp: start.timestamp };
  return start.kind === 'cursor' ? 'latest' : start.kind;
}

/** `from=`: earliest, latest, ms since the epoch, or an ISO 8601 date. */
export function parseFrom(text: string): StartSpec {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  if (/^\d{1,16}$/.test(text)) return { kind: 'timestamp', timestamp: Number(text) };
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new ApiError('INVALID_REQUEST', `from must be earliest, latest, or a timestamp (ms since the epoch or ISO 8601), not '${text}'`);
  }
  return { kind: 'timestamp', timestamp: ms };
}

export function parseCursor(topics: TopicSet, text: string, where: string): StartSpec {
  try {
    return { kind: 'cursor', positions: decodeCursor(topics, text) };
  } catch (err) {
    if (err instanceof CursorError) throw new ApiError('INVALID_REQUEST', `Invalid ${where}: ${err.message}`);
    throw err;
  }
}

/** Partition count of each topic; 40401 for the first one that does not exist. */
export async function partitionCounts(engine: StorageEngine, topics: TopicSet): Promise<number[]> {
  return Promise.all(
    topics.topics.map(async (topic) => {
      const count = await engine.partitionCount(topic);
      if (count === undefined) throw new ApiError('TOPIC_NOT_FOUND', `Topic '${topic}' not found`);
      return count;
    }),
  );
}

/** Partition count of each topic that exists (a group's leader assigns from these). */
export async function knownPartitionCounts(engine: StorageEngine, topics: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const topic of topics) {
    const count = await engine.partitionCount(topic);
    if (count !== undefined) out[topic] = count;
  }
  return out;
}

/**
 * The next offset of every partition for a start spec. A cursor is checked against the topics as
 * they are now: partitions it does not name (the topic grew) start at their beginning; an offset
 * below the log start (retention ran) moves up to it, as Kafka's auto.offset.reset=earliest; an
 * offset past the high watermark or more partitions than the topic has mean the cursor belongs to
 * another life of the topic, and are refused.
 */
export async function resolvePositions(
  engine: StorageEngine,
  topics: TopicSet,
  counts: readonly number[],
  start: StartSpec,
  isolationLevel: IsolationLevel,
): Promise<StreamPositions> {
  return Promise.all(
    topics.topics.map(async (topic, t) => {
      const count = counts[t];
      if (start.kind !== 'cursor') {
        const spec = offsetSpecOf(start);
        return Promise.all(range(count).map((partition) => offsetForSpec(engine, { topic, partition }, spec, isolationLevel)));
      }
      const given = start.positions[t];
      if (given.length > count) {
        throw new ApiError('INVALID_REQUEST', `The cursor names ${given.length} partitions of '${topic}', which has ${count}`);
      }
      return Promise.all(range(count).map((p) => checkedOffset(engine, topic, p, given[p] ?? NOT_READ, isolationLevel)));
    }),
  );
}

async function checkedOffset(engine: StorageEngine, topic: string, p: number, offset: number, isolationLevel: IsolationLevel): Promise<number> {
  const [start, end] = await Promise.all([
    engine.listOffset(topic, p, 'earliest', isolationLevel),
    engine.listOffset(topic, p, 'latest', 'read_uncommitted'),
  ]);
  if (offset === NOT_READ) return start.offset;
  if (offset > end.offset) {
    throw new ApiError(
      'OFFSET_OUT_OF_RANGE',
      `The cursor is at offset ${offset} of ${topic}-${p}, past its high watermark ${end.offset}`,
    );
  }
  return Math.max(offset, start.offset);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
