import * as path from 'node:path';
import type { Logger } from 'pino';
import { effectiveTopicConfigs } from '../topic-config';
import { FileOps } from './file-ops';
import { logConfigFrom } from './log-config';
import { METADATA_DIR } from './log-file-names';
import { loadPartitionLog } from './log-loader';
import { PartitionLog } from './partition-log';

/** What a topic is: the state the metadata log's records build. */
export interface TopicMetadata {
  name: string;
  /** Random, fixed at creation: tells a recreated topic from an old one of the same name. */
  topicId: string;
  partitions: number;
  /** The topic's own settings only; defaults are not stored. */
  configs: Record<string, string>;
}

/** The changes, named as in Kafka's KRaft metadata records; `v` is the record's version. */
export type MetadataRecord =
  | { type: 'TopicRecord'; v: 0; name: string; topicId: string; partitions: number; configs: Record<string, string> }
  | { type: 'PartitionRecord'; v: 0; name: string; topicId: string; partitions: number }
  | { type: 'ConfigRecord'; v: 0; name: string; topicId: string; configs: Record<string, string | null> }
  | { type: 'RemoveTopicRecord'; v: 0; name: string; topicId: string };

const REPLAY_CHUNK_BYTES = 1 << 20;
/** The metadata log keeps everything: it is the only record of which topics exist. */
const METADATA_LOG_CONFIG = logConfigFrom(effectiveTopicConfigs({ 'retention.ms': '-1', 'retention.bytes': '-1', 'segment.bytes': String(64 << 20) }));

/**
 * Topic metadata as a log, like KRaft's metadata log: each create, partition growth, config change
 * or deletion is one record (value = the change as JSON) in a one-partition log under `data/meta/`,
 * in the same record batch format as topic data. Each change is fsynced before it takes effect;
 * start-up replays the whole log (always with full recovery: it is small, and must be exact).
 */
export class MetadataLog {
  private constructor(private readonly log: PartitionLog) {}

  static async open(
    dataDir: string,
    ops: FileOps,
    now: () => number,
    logger: Logger,
  ): Promise<{ metadataLog: MetadataLog; topics: Map<string, TopicMetadata> }> {
    const { log } = await loadPartitionLog({
      topic: '__metadata',
      partition: 0,
      dir: path.join(dataDir, METADATA_DIR),
      config: METADATA_LOG_CONFIG,
      ops,
      now,
      logger,
      cleanShutdown: false,
      recoveryPoint: 0,
      logStartOffset: 0,
    });
    const topics = new Map<string, TopicMetadata>();
    let offset = log.logStartOffset;
    while (offset < log.highWatermark) {
      const { records } = await log.read(offset, REPLAY_CHUNK_BYTES);
      if (records.length === 0) break;
      for (const record of records) {
        applyMetadataRecord(topics, JSON.parse((record.value ?? Buffer.from('null')).toString('utf8')) as MetadataRecord);
      }
      offset = records[records.length - 1].offset + 1;
    }
    return { metadataLog: new MetadataLog(log), topics };
  }

  /** Appends and fsyncs one change. */
  async append(record: MetadataRecord): Promise<void> {
    await this.log.append([{ key: Buffer.from(record.name, 'utf8'), value: Buffer.from(JSON.stringify(record), 'utf8') }], -1);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** Applies one change to the topic table; unknown record types are skipped (newer writers). */
export function applyMetadataRecord(topics: Map<string, TopicMetadata>, record: MetadataRecord): void {
  const topic = topics.get(record.name);
  switch (record.type) {
    case 'TopicRecord':
      topics.set(record.name, { name: record.name, topicId: record.topicId, partitions: record.partitions, configs: { ...record.configs } });
      return;
    case 'PartitionRecord':
      if (topic !== undefined && topic.topicId === record.topicId) topic.partitions = record.partitions;
      return;
    case 'ConfigRecord':
      if (topic !== undefined && topic.topicId === record.topicId) topic.configs = applyConfigChanges(topic.configs, record.configs);
      return;
    case 'RemoveTopicRecord':
      if (topic !== undefined && topic.topicId === record.topicId) topics.delete(record.name);
      return;
  }
}

/** A config map with `changes` applied: a string sets, null resets to the default. */
export function applyConfigChanges(configs: Record<string, string>, changes: Record<string, string | null>): Record<string, string> {
  const out = { ...configs };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete out[name];
    else out[name] = value;
  }
  return out;
}
