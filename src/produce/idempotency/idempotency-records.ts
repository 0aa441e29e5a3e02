import type { ProduceOutcome, ProducePlan } from '../produce-service';

/**
 * A keyed request's identity in the log: the producer id and epoch (the key's own, or an allocated
 * lane's) and the base sequence of each partition's batch, so that after a crash the request can be
 * resumed: the same batches resent with the same identity are answered by the engine with their
 * offsets if they were appended, and appended if they were not. Written with the request's appends
 * (before them, and for acks=all fsynced, under an allocated id: idempotent-producer.ts).
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
  /**
   * The key's own producer id (keyedProducerId) when the request was sent under it: a request
   * answered once its outcome is written has no intent in the journal, and replay claims the id
   * from here.
   */
  producerId?: number;
}

/** The request was refused before anything was appended: the key is free again. */
export interface ReleasedRecord {
  type: 'released';
  v: 0;
}

export type KeyRecord = IntentRecord | CompletedRecord | ReleasedRecord;

const INTENT = 1;
const COMPLETED = 2;
const RELEASED = 3;
const ASYNC = 1;
/** Completed records: a float64 producer id follows the outcomes (versions without it stop reading before it). */
const PRODUCER_ID = 2;

/**
 * A journal payload, binary (numbers big-endian):
 *   int8 type (1 intent, 2 completed, 3 released) | int8 flags (bit 0: async, bit 1: completed with producer id) | uint8 key length | key (ASCII)
 *   intent, completed: uint8 fingerprint length | fingerprint (latin1) | float64 createdAt
 *   intent:    uint16 topic length | topic (UTF-8) | float64 producerId | int32 producerEpoch |
 *              uint32 n | n x int32 assignment | uint32 n | n x int32 sequences
 *   completed: uint32 n | n x float64 outcomes | float64 producerId (when flags bit 1 is set)
 * Built with a few fixed-size writes: JSON text of the records was a measurable part of a keyed
 * single-record request's cost. Payloads of the first version were JSON `{"key": ..., "record":
 * {...}}` (first byte `{`); they are still read. The fingerprint is requestFingerprint's 32 bytes;
 * earlier versions wrote it as 64 hex digits, which are read back as those 32 bytes (readFingerprint).
 */
export function encodeKeyRecord(key: string, record: KeyRecord): Buffer {
  const out = Buffer.allocUnsafe(keyRecordSize(key, record));
  writeKeyRecord(out, 0, key, record);
  return out;
}

/** The payload's size in bytes (encodeKeyRecord); throws for a key or fingerprint over 255 characters. */
export function keyRecordSize(key: string, record: KeyRecord): number {
  if (key.length > 255 || (record.type !== 'released' && record.fingerprint.length > 255)) throw new Error('an idempotency key or fingerprint over 255 characters');
  let size = 3 + key.length;
  if (record.type !== 'released') size += 1 + record.fingerprint.length + 8;
  if (record.type === 'intent') size += 2 + Buffer.byteLength(record.topic) + 8 + 4 + 4 + 4 * record.assignment.length + 4 + 4 * record.sequences.length;
  if (record.type === 'completed') size += 4 + 8 * record.outcomes.length + (record.producerId === undefined ? 0 : 8);
  return size;
}

/** Writes the payload (keyRecordSize bytes) at out[start]. */
export function writeKeyRecord(out: Buffer, start: number, key: string, record: KeyRecord): void {
  const producerId = record.type === 'completed' ? record.producerId : undefined;
  out[start] = record.type === 'intent' ? INTENT : record.type === 'completed' ? COMPLETED : RELEASED;
  out[start + 1] = (record.type !== 'released' && record.async ? ASYNC : 0) | (producerId === undefined ? 0 : PRODUCER_ID);
  out[start + 2] = key.length;
  let pos = start + 3 + out.write(key, start + 3, 'latin1');
  if (record.type === 'released') return;
  out[pos++] = record.fingerprint.length;
  pos += out.write(record.fingerprint, pos, 'latin1');
  pos = out.writeDoubleBE(record.createdAt, pos);
  if (record.type === 'completed') {
    pos = writeNumbers(out, pos, record.outcomes, 8);
    if (producerId !== undefined) out.writeDoubleBE(producerId, pos);
    return;
  }
  const topicLength = out.write(record.topic, pos + 2, 'utf8');
  out.writeUInt16BE(topicLength, pos);
  pos = out.writeDoubleBE(record.producerId, pos + 2 + topicLength);
  pos = out.writeInt32BE(record.producerEpoch, pos);
  pos = writeNumbers(out, pos, record.assignment, 4);
  writeNumbers(out, pos, record.sequences, 4);
}

/** uint32 count, then each number as int32 (width 4) or float64 (width 8); returns where it ends. */
function writeNumbers(out: Buffer, pos: number, numbers: number[], width: 4 | 8): number {
  pos = out.writeUInt32BE(numbers.length, pos);
  for (const n of numbers) pos = width === 4 ? out.writeInt32BE(n, pos) : out.writeDoubleBE(n, pos);
  return pos;
}

/** The key and its record; undefined for a record this version does not know (skipped on replay). */
export function decodeKeyRecord(payload: Buffer): { key: string; record: KeyRecord } | undefined {
  if (payload.length === 0) return undefined;
  if (payload[0] === 0x7b) return decodeJsonKeyRecord(payload);
  const type = payload[0];
  const async = (payload[1] & ASYNC) !== 0;
  let pos = 3 + payload[2];
  const key = payload.toString('latin1', 3, pos);
  if (type === RELEASED) return { key, record: { type: 'released', v: 0 } };
  if (type !== INTENT && type !== COMPLETED) return undefined;
  const fingerprintEnd = pos + 1 + payload[pos];
  const fingerprint = readFingerprint(payload.toString('latin1', pos + 1, fingerprintEnd));
  const createdAt = payload.readDoubleBE(fingerprintEnd);
  pos = fingerprintEnd + 8;
  if (type === COMPLETED) {
    const outcomes = readNumbers(payload, pos, 8);
    const record: CompletedRecord = { type: 'completed', v: 0, fingerprint, createdAt, async, outcomes };
    if ((payload[1] & PRODUCER_ID) !== 0) record.producerId = payload.readDoubleBE(pos + 4 + 8 * outcomes.length);
    return { key, record };
  }
  const topicEnd = pos + 2 + payload.readUInt16BE(pos);
  const topic = payload.toString('utf8', pos + 2, topicEnd);
  const producerId = payload.readDoubleBE(topicEnd);
  const producerEpoch = payload.readInt32BE(topicEnd + 8);
  const assignment = readNumbers(payload, topicEnd + 12, 4);
  const sequences = readNumbers(payload, topicEnd + 16 + 4 * assignment.length, 4);
  return { key, record: { type: 'intent', v: 0, fingerprint, createdAt, async, topic, producerId, producerEpoch, assignment, sequences } };
}

const HEX_FINGERPRINT = /^[0-9a-f]{64}$/;

/** A fingerprint as this version computes it: one written in hex by an earlier version becomes its 32 bytes. */
function readFingerprint(fingerprint: string): string {
  return fingerprint.length === 64 && HEX_FINGERPRINT.test(fingerprint) ? Buffer.from(fingerprint, 'hex').toString('latin1') : fingerprint;
}

function readNumbers(payload: Buffer, pos: number, width: 4 | 8): number[] {
  const n = payload.readUInt32BE(pos);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = width === 4 ? payload.readInt32BE(pos + 4 + 4 * i) : payload.readDoubleBE(pos + 4 + 8 * i);
  return out;
}

/** A payload of the first version: JSON `{"key": ..., "record": {...}}`. */
function decodeJsonKeyRecord(payload: Buffer): { key: string; record: KeyRecord } | undefined {
  const { key, record } = JSON.parse(payload.toString('utf8')) as { key?: unknown; record?: KeyRecord };
  if (typeof key !== 'string' || record === undefined || record.v !== 0 || !['intent', 'completed', 'released'].includes(record.type)) return undefined;
  if (record.type !== 'released') record.fingerprint = readFingerprint(record.fingerprint);
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
