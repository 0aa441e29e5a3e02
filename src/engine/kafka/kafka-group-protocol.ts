import type { Assignment, Subscription, TopicPartition } from '../../coordinator/group/group-coordinator';
import { byTopic } from './by-topic';

/**
 * Kafka's consumer protocol: the bytes a member puts in JoinGroup (its subscription) and the leader
 * puts in SyncGroup (each member's assignment), which the broker passes on without reading. Java,
 * librdkafka and kafkajs consumers all read and write these, so a Basket member can share a group
 * with them.
 *
 *   ConsumerProtocolSubscription => Version Topics UserData [OwnedPartitions (v1+)] [GenerationId (v2+)] [RackId (v3+)]
 *     Version => INT16, Topics => [STRING], UserData => NULLABLE_BYTES
 *   ConsumerProtocolAssignment => Version AssignedPartitions UserData
 *     AssignedPartitions => [Topic [Partition]], Topic => STRING, Partition => INT32, UserData => NULLABLE_BYTES
 *
 * Basket writes version 0 of both and reads any version (later versions only append fields, which
 * are skipped). A Basket leader puts the partition counts it assigned from in the assignment's
 * UserData, as JSON under PARTITION_COUNTS_KEY: other clients ignore UserData they did not write,
 * and an assignment without it (from another client's leader) decodes with no partition counts.
 */
export const PARTITION_COUNTS_KEY = 'basket.partitionCounts';

export function encodeSubscription(subscription: Subscription): Buffer {
  const w = new Writer();
  w.int16(0);
  w.array(subscription.topics, (t) => w.string(t));
  w.bytes(null);
  return w.done();
}

export function decodeSubscription(bytes: Buffer | null): Subscription {
  if (bytes === null || bytes.length === 0) return { topics: [] };
  const r = new Reader(bytes, 'subscription');
  r.int16();
  return { topics: r.array(() => r.string()) };
}

export function encodeAssignment(assignment: Assignment): Buffer {
  const w = new Writer();
  w.int16(0);
  w.array(byTopic(assignment.partitions, (tp) => tp.partition), ({ topic, partitions }) => {
    w.string(topic);
    w.array(partitions, (p) => w.int32(p));
  });
  w.bytes(Buffer.from(JSON.stringify({ [PARTITION_COUNTS_KEY]: assignment.partitionCounts })));
  return w.done();
}

/** `partitionCounts` is undefined when the leader was not Basket (no counts in UserData). */
export function decodeAssignment(bytes: Buffer | null): { partitions: TopicPartition[]; partitionCounts: Record<string, number> | undefined } {
  // A member the leader gave nothing gets empty bytes from the broker.
  if (bytes === null || bytes.length === 0) return { partitions: [], partitionCounts: undefined };
  const r = new Reader(bytes, 'assignment');
  r.int16();
  const partitions = r.array(() => {
    const topic = r.string();
    return r.array(() => ({ topic, partition: r.int32() }));
  }).flat();
  return { partitions, partitionCounts: partitionCountsFrom(r.bytes()) };
}

function partitionCountsFrom(userData: Buffer | null): Record<string, number> | undefined {
  if (userData === null || userData.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(userData.toString('utf8'));
  } catch {
    return undefined; // another assignor's UserData
  }
  const counts = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[PARTITION_COUNTS_KEY] : undefined;
  if (typeof counts !== 'object' || counts === null) return undefined;
  const out: Record<string, number> = {};
  for (const [topic, n] of Object.entries(counts)) if (Number.isInteger(n)) out[topic] = n as number;
  return out;
}

class Writer {
  private readonly parts: Buffer[] = [];

  int16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
  }

  int32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
  }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.int16(bytes.length);
    this.parts.push(bytes);
  }

  bytes(b: Buffer | null): void {
    this.int32(b === null ? -1 : b.length);
    if (b !== null) this.parts.push(b);
  }

  array<T>(items: readonly T[], each: (item: T) => void): void {
    this.int32(items.length);
    for (const item of items) each(item);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private offset = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    this.need(length);
    const s = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return s;
  }

  bytes(): Buffer | null {
    if (this.offset === this.buf.length) return null; // some writers leave out trailing empty UserData
    const length = this.int32();
    if (length < 0) return null;
    this.need(length);
    const b = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return b;
  }

  array<T>(each: () => T): T[] {
    const n = this.int32();
    if (n < 0) return [];
    // Each element takes at least 2 bytes, so a count larger than that is corruption, not a big array.
    this.need(Math.min(n, 1 << 20) * 2);
    return Array.from({ length: n }, each);
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new Error(`Malformed consumer protocol ${this.what}: ${this.buf.length} bytes, needed ${this.offset + n}`);
  }
}
