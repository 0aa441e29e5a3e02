import { TimestampType } from '../storage-engine';
import { compressionIdOf } from './codec/compression';

/**
 * A partition log's topic configs, parsed once from Kafka's string map (see topic-config.ts) so
 * the append path reads plain numbers. Replaced as a whole when the topic's configs change.
 */
export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  segmentIndexBytes: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  /** -1 keeps data forever. */
  retentionMs: number;
  /** -1 means no size limit. */
  retentionBytes: number;
  timestampType: TimestampType;
  /** Codec id stored batches are compressed with, from compression.type (producer: as the records came, uncompressed). */
  compression: number;
}

/** `configs` must be effective (every name present), e.g. from effectiveTopicConfigs(). */
export function logConfigFrom(configs: Record<string, string>): LogConfig {
  const num = (name: string): number => {
    const value = Number(configs[name]);
    if (!Number.isSafeInteger(value)) throw new Error(`topic config ${name} is missing or not an integer`);
    return value;
  };
  return {
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    segmentIndexBytes: num('segment.index.bytes'),
    indexIntervalBytes: num('index.interval.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    timestampType: configs['message.timestamp.type'] === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    compression: compressionIdOf(configs['compression.type'] ?? 'producer'),
  };
}
