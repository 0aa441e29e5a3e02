import type { ProduceOutcome, ProducePlan } from '../produce-service';

/**
 * Written, fsynced, before a keyed request's first append. It names the lane (producer id and
 * epoch) and the base sequence of each partition's batch, so that after a crash the request can be
 * resumed: the same batches resent with the same identity are answered by the engine with their
 * offsets if they were appended, and appended if they were not.
 */
export interface IntentRecord {
  type: 'intent';
  v: 0;
  fingerprint: string;
  createdAt: number;
  /** The first request asked for an async answer (202 and a receipt): repeats answer the same way. */
  async: boolean;
  topic: string;
  /** -1 on an engine without producer ids. */
  producerId: number;
  producerEpoch: number;
  /** The partition of each record in request order, run-length encoded: [partition, count, ...]. */
  assignment: number[];
  /** [partition, baseSequence, ...] for each partition written. */
  sequences: number[];
}

/** Written after the appends succeeded: the request's outcome, so repeats are answered without the engine. */
export interface CompletedRecord {
  type: 'completed';
  v: 0;
  fingerprint: string;
  createdAt: number;
  async: boolean;
  /** Outcomes in request order, as runs of consecutive offsets: [partition, firstOffset, count, timestamp, ...]. */
  outcomes: number[];
}

/** The request was refused before anything was appended: the key is free again. */
export interface ReleasedRecord {
  type: 'released';
  v: 0;
}

export type KeyRecord = IntentRecord | CompletedRecord | ReleasedRecord;

/**
 * A journal payload: JSON `{"key": ..., "record": {...}}`. Built as text by hand for the two
 * records every keyed request writes: JSON.stringify of the nested object was a measurable part of
 * a single-record request's cost.
 */
export function encodeKeyRecord(key: string, record: KeyRecord): Buffer {
  let body: string;
  switch (record.type) {
    case 'intent':
      body =
        `{"type":"intent","v":0,"fingerprint":"${record.fingerprint}","createdAt":${record.createdAt},"async":${record.async},` +
        `"topic":${JSON.stringify(record.topic)},"producerId":${record.producerId},"producerEpoch":${record.producerEpoch},` +
        `"assignment":[${record.assignment.join(',')}],"sequences":[${record.sequences.join(',')}]}`;
      break;
    case 'completed':
      body =
        `{"type":"completed","v":0,"fingerprint":"${record.fingerprint}","createdAt":${record.createdAt},"async":${record.async},` +
        `"outcomes":[${record.outcomes.join(',')}]}`;
      break;
    default:
      body = JSON.stringify(record);
  }
  return Buffer.from(`{"key":${JSON.stringify(key)},"record":${body}}`, 'utf8');
}

/** The key and its record; undefined for a record this version does not know (skipped on replay). */
export function decodeKeyRecord(payload: Buffer): { key: string; record: KeyRecord } | undefined {
  const { key, record } = JSON.parse(payload.toString('utf8')) as { key?: unknown; record?: KeyRecord };
  if (typeof key !== 'string' || record === undefined || record.v !== 0 || !['intent', 'completed', 'released'].includes(record.type)) return undefined;
  return { key, record };
}

/** Run-length encoding of a plan's record -> partition assignment. */
export function encodeAssignment(plan: ProducePlan): number[] {
  const partitions = new Array<number>(plan.recordCount);
  for (const b of plan.batches) for (const i of b.indexes) partitions[i] = b.partition;
  const runs: number[] = [];
  for (const p of partitions) {
    if (runs.length > 0 && runs[runs.length - 2] === p) runs[runs.length - 1]++;
    else runs.push(p, 1);
  }
  return runs;
}

export function decodeAssignment(runs: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) for (let n = 0; n < runs[i + 1]; n++) out.push(runs[i]);
  return out;
}

export function encodeOutcomes(outcomes: ProduceOutcome[]): number[] {
  const runs: number[] = [];
  let prev: ProduceOutcome | undefined;
  for (const o of outcomes) {
    const n = runs.length;
    const continues =
      prev !== undefined &&
      prev.partition === o.partition &&
      prev.timestamp === o.timestamp &&
      (o.offset === -1 ? prev.offset === -1 : o.offset === prev.offset + 1);
    if (continues) runs[n - 2]++;
    else runs.push(o.partition, o.offset, 1, o.timestamp);
    prev = o;
  }
  return runs;
}

export function decodeOutcomes(runs: number[]): ProduceOutcome[] {
  const out: ProduceOutcome[] = [];
  for (let i = 0; i < runs.length; i += 4) {
    const [partition, first, count, timestamp] = runs.slice(i, i + 4);
    for (let n = 0; n < count; n++) out.push({ partition, offset: first === -1 ? -1 : first + n, timestamp });
  }
  return out;
}
