import { isEngineError } from '../engine/engine-error';
import type { ConsumerRecord, StorageEngine } from '../engine/storage-engine';

const LOAD_FETCH_BYTES = 1 << 20;

/**
 * retention.ms of the internal topics once their coordinator has loaded: Kafka's log.retention
 * default (so topics created by earlier versions, which took the default, had it already). A
 * coordinator re-appends every live key's record once it is older than half of it (LiveRecords),
 * so a current record is at most that half plus one check interval old while the coordinator runs,
 * and retention, which deletes only whole segments whose newest record is older than this, only
 * ever deletes superseded records and tombstones of keys already gone before them.
 */
export const INTERNAL_TOPIC_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * The configs of `__consumer_offsets` and `__transaction_state`, set at every load (also on topics
 * created by earlier versions, or whose broker defaults changed since):
 * - retention.ms -1 while no coordinator keeps the records young: from its close
 *   (`holdInternalRetention`) until its next load has re-appended its old records
 *   (`releaseInternalRetention`); after a downtime longer than the retention every segment is past
 *   it, and a retention pass between the engine's start and that refresh would take them all;
 * - retention.bytes -1: a size limit would delete current records whatever their age;
 * - segment.ms a day, so superseded records go within a day of passing the retention;
 * - segment.bytes Kafka's offsets.topic.segment.bytes (100 MiB);
 * - CreateTime: a record's timestamp is the one its coordinator wrote and remembers.
 */
export const INTERNAL_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'retention.bytes': '-1',
  'segment.ms': String(24 * 3_600_000),
  'segment.bytes': String(100 << 20),
  'message.timestamp.type': 'CreateTime',
};

/**
 * Partition count of a coordinator's internal topic (`__consumer_offsets`, `__transaction_state`),
 * creating it with `partitions` when missing. An existing topic keeps its count: it decides which
 * partition holds each key's records. Either way its configs become INTERNAL_TOPIC_CONFIGS, with
 * retention held until `releaseInternalRetention`.
 */
export async function ensureInternalTopic(engine: StorageEngine, topic: string, partitions: number): Promise<number> {
  const existing = await engine.partitionCount(topic);
  if (existing !== undefined) {
    await alignConfigs(engine, topic);
    return existing;
  }
  try {
    await engine.createTopic({ name: topic, partitions, configs: { ...INTERNAL_TOPIC_CONFIGS } });
  } catch (err) {
    if (!isEngineError(err) || err.code !== 'TOPIC_ALREADY_EXISTS') throw err;
    await alignConfigs(engine, topic);
    return (await engine.partitionCount(topic)) ?? partitions;
  }
  return partitions;
}

/** Lets retention delete again, once every record older than half of it has been re-appended. */
export async function releaseInternalRetention(engine: StorageEngine, topic: string): Promise<void> {
  await engine.alterTopicConfigs(topic, { 'retention.ms': String(INTERNAL_TOPIC_RETENTION_MS) });
}

/**
 * Holds retention again as the coordinator closes: until the next load has re-appended what aged
 * during the downtime, nothing may go. Best effort (the engine may be closing too); after a crash
 * the topic keeps its released retention, and the next load must come before the engine's first
 * retention pass (log.retention.check.interval.ms after its start, 5 minutes by default) for a
 * downtime longer than half the retention to be safe.
 */
export async function holdInternalRetention(engine: StorageEngine, topic: string): Promise<void> {
  await engine.alterTopicConfigs(topic, { 'retention.ms': INTERNAL_TOPIC_CONFIGS['retention.ms'] as string }).catch(() => undefined);
}

async function alignConfigs(engine: StorageEngine, topic: string): Promise<void> {
  const { configs } = await engine.describeTopic(topic);
  const changes: Record<string, string> = {};
  for (const [name, value] of Object.entries(INTERNAL_TOPIC_CONFIGS)) if (configs[name] !== value) changes[name] = value;
  if (Object.keys(changes).length > 0) await engine.alterTopicConfigs(topic, changes);
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
