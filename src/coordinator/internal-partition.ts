import { isEngineError } from '../engine/engine-error';
import type { ConsumerRecord, StorageEngine } from '../engine/storage-engine';

const LOAD_FETCH_BYTES = 1 << 20;

/**
 * Partition count of a coordinator's internal topic (`__consumer_offsets`, `__transaction_state`),
 * creating it with `partitions` when missing. An existing topic keeps its count: it decides which
 * partition holds each key's records.
 */
export async function ensureInternalTopic(engine: StorageEngine, topic: string, partitions: number): Promise<number> {
  const existing = await engine.partitionCount(topic);
  if (existing !== undefined) return existing;
  try {
    await engine.createTopic({ name: topic, partitions });
  } catch (err) {
    if (!isEngineError(err) || err.code !== 'TOPIC_ALREADY_EXISTS') throw err;
    return (await engine.partitionCount(topic)) ?? partitions;
  }
  return partitions;
}

/** A coordinator's replay: every record of one partition from its log start offset to its high watermark, in order. Returns the count. */
export async function replayPartition(engine: StorageEngine, topic: string, partition: number, visit: (record: ConsumerRecord) => void): Promise<number> {
  let offset = (await engine.listOffset(topic, partition, 'earliest', 'read_uncommitted')).offset;
  const end = (await engine.listOffset(topic, partition, 'latest', 'read_uncommitted')).offset;
  let count = 0;
  while (offset < end) {
    const response = await engine.fetch({ partitions: [{ topic, partition, offset }], maxBytes: LOAD_FETCH_BYTES, maxWaitMs: 0, isolationLevel: 'read_uncommitted' });
    const result = response.partitions[0];
    if (result === undefined) break;
    if (result.error !== undefined) throw result.error;
    for (const r of result.records) {
      visit(r);
      count++;
    }
    if (result.nextOffset <= offset) break;
    offset = result.nextOffset;
  }
  return count;
}
