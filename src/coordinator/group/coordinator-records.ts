import type { ProducerRecord } from '../../engine/storage-engine';
import type { Assignment, Subscription } from './group-coordinator';

/**
 * The group coordinator's state as records of the `__consumer_offsets` partitions, rebuilt by replay
 * at start. Keys are Kafka's (big-endian; a string is an int16 length and UTF-8 bytes), and the key
 * version tells the record type:
 *
 *   OffsetCommitKey   (version 1): int16 version, string group, string topic, int32 partition
 *   GroupMetadataKey  (version 2): int16 version, string group
 *
 * Values:
 *   OffsetCommitValue (version 3, Kafka's layout): int16 version, int64 offset,
 *                     int32 leader epoch (-1), string metadata, int64 commit timestamp
 *   GroupMetadataValue: UTF-8 JSON {"version": 1, protocolType, generation, protocol, leader,
 *                     currentStateTimestamp, members: [...]}. JSON, unlike Kafka's binary value: it is
 *                     written once per rebalance and read only at start, and stays easy to evolve.
 *
 * A null value (tombstone) deletes: the offset of one partition, or the group's metadata. Keys of a
 * version this code does not know are skipped on replay, so newer records do not stop an older start.
 */

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_VALUE_VERSION = 1;

export interface OffsetCommitValue {
  offset: number;
  metadata: string;
  commitTimestamp: number;
}

export interface GroupMetadataMember {
  memberId: string;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  subscription: Subscription;
  assignment: Assignment;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string;
  leader: string;
  currentStateTimestamp: number;
  members: GroupMetadataMember[];
}

export type CoordinatorRecord =
  | { type: 'offset-commit'; group: string; topic: string; partition: number; value: OffsetCommitValue | null }
  | { type: 'group-metadata'; group: string; value: GroupMetadataValue | null };

export function offsetCommitRecord(group: string, topic: string, partition: number, value: OffsetCommitValue | null): CoordinatorRecord {
  return { type: 'offset-commit', group, topic, partition, value };
}

export function groupMetadataRecord(group: string, value: GroupMetadataValue | null): CoordinatorRecord {
  return { type: 'group-metadata', group, value };
}

export function encodeCoordinatorRecord(record: CoordinatorRecord, timestamp: number): ProducerRecord & { key: Buffer; value: Buffer | null } {
  if (record.type === 'offset-commit') {
    const key = new Writer().int16(OFFSET_COMMIT_KEY_VERSION).string(record.group).string(record.topic).int32(record.partition).done();
    const v = record.value;
    const value = v === null
      ? null
      : new Writer().int16(OFFSET_COMMIT_VALUE_VERSION).int64(v.offset).int32(-1).string(v.metadata).int64(v.commitTimestamp).done();
    return { key, value, timestamp };
  }
  const key = new Writer().int16(GROUP_METADATA_KEY_VERSION).string(record.group).done();
  const value = record.value === null ? null : Buffer.from(JSON.stringify({ version: GROUP_METADATA_VALUE_VERSION, ...record.value }), 'utf8');
  return { key, value, timestamp };
}

/** The record a log entry holds; undefined for a key version this code does not know. */
export function decodeCoordinatorRecord(key: Buffer | null, value: Buffer | null): CoordinatorRecord | undefined {
  if (key === null || key.length < 2) return undefined;
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === OFFSET_COMMIT_KEY_VERSION) {
    const group = k.string();
    const topic = k.string();
    const partition = k.int32();
    return offsetCommitRecord(group, topic, partition, value === null ? null : decodeOffsetCommitValue(value));
  }
  if (keyVersion === GROUP_METADATA_KEY_VERSION) {
    const group = k.string();
    if (value === null) return groupMetadataRecord(group, null);
    const parsed = JSON.parse(value.toString('utf8')) as GroupMetadataValue & { version: number };
    const { version: _version, ...rest } = parsed;
    return groupMetadataRecord(group, rest);
  }
  return undefined;
}

function decodeOffsetCommitValue(value: Buffer): OffsetCommitValue {
  const r = new Reader(value);
  const version = r.int16();
  const offset = r.int64();
  if (version >= 3) r.int32(); // leader epoch
  const metadata = r.string();
  const commitTimestamp = r.int64();
  return { offset, metadata, commitTimestamp };
}

class Writer {
  private readonly parts: Buffer[] = [];

  int16(n: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }

  int32(n: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }

  int64(n: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(n));
    this.parts.push(b);
    return this;
  }

  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > 0x7fff) throw new RangeError(`String of ${bytes.length} bytes is too long for a coordinator record`);
    this.int16(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private position = 0;

  constructor(private readonly buffer: Buffer) {}

  int16(): number {
    const n = this.buffer.readInt16BE(this.position);
    this.position += 2;
    return n;
  }

  int32(): number {
    const n = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return n;
  }

  int64(): number {
    const n = Number(this.buffer.readBigInt64BE(this.position));
    this.position += 8;
    return n;
  }

  string(): string {
    const length = this.int16();
    const s = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return s;
  }
}
