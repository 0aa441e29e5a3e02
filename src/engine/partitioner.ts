/**
 * Kafka's default partitioner, so a keyed record lands on the same partition as it would from a
 * Java client: toPositive(murmur2(key)) % numPartitions. Records without a key use sticky
 * partitioning: one partition per topic until about batch.size bytes went to it, then another
 * chosen at random, never the same one twice in a row when there is a choice.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's producer batch.size default: how many bytes a sticky partition receives before switching. */
export const DEFAULT_STICKY_BATCH_SIZE = 16384;

/** Kafka's Utils.murmur2: MurmurHash2 with Kafka's seed, over int32 arithmetic; a signed 32-bit result. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's fall-through switch over the 1-3 trailing bytes, written as nested tests.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest !== 0) {
    if (rest === 3) h ^= data[tail + 2] << 16;
    if (rest >= 2) h ^= data[tail + 1] << 8;
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which would fold two hashes together). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

function checkPartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
}

export function partitionForKey(key: Buffer, numPartitions: number): number {
  checkPartitionCount(numPartitions);
  return toPositive(murmur2(key)) % numPartitions;
}

export interface DefaultPartitionerOptions {
  /** Uniform in [0, 1), as Math.random; injectable so tests can steer the sticky choice. */
  random?: () => number;
  /** Bytes a sticky partition receives before the next keyless record moves on. */
  stickyBatchSize?: number;
}

interface StickyState {
  partition: number;
  bytes: number;
}

/**
 * Invariant: for each topic with keyless traffic, `sticky` holds the partition the next keyless
 * record goes to and the bytes already sent there since it was chosen (< stickyBatchSize).
 */
export class DefaultPartitioner {
  private readonly random: () => number;
  private readonly stickyBatchSize: number;
  private readonly sticky = new Map<string, StickyState>();

  constructor(options: DefaultPartitionerOptions = {}) {
    this.random = options.random ?? Math.random;
    this.stickyBatchSize = options.stickyBatchSize ?? DEFAULT_STICKY_BATCH_SIZE;
  }

  partition(topic: string, key: Buffer | null, numPartitions: number, recordBytes: number): number {
    if (key !== null) return partitionForKey(key, numPartitions);
    checkPartitionCount(numPartitions);
    let state = this.sticky.get(topic);
    if (state === undefined) {
      state = { partition: this.choose(numPartitions, -1), bytes: 0 };
      this.sticky.set(topic, state);
    } else if (state.partition >= numPartitions) {
      // The topic was recreated with fewer partitions: start over.
      state.partition = this.choose(numPartitions, -1);
      state.bytes = 0;
    }
    const partition = state.partition;
    // The record that crosses the threshold still goes here, as in Kafka; the next one moves on.
    state.bytes += recordBytes;
    if (state.bytes >= this.stickyBatchSize) {
      state.partition = this.choose(numPartitions, partition);
      state.bytes = 0;
    }
    return partition;
  }

  /** Drops a topic's sticky state, e.g. when the topic is deleted. */
  forget(topic: string): void {
    this.sticky.delete(topic);
  }

  /** A uniformly random partition other than `previous` (when there is another). */
  private choose(numPartitions: number, previous: number): number {
    if (previous < 0 || previous >= numPartitions || numPartitions === 1) {
      return this.pick(numPartitions);
    }
    const r = this.pick(numPartitions - 1);
    return r >= previous ? r + 1 : r;
  }

  private pick(n: number): number {
    const r = Math.floor(this.random() * n);
    return r >= n ? n - 1 : r < 0 ? 0 : r;
  }
}
