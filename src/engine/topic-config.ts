import { EngineError } from './engine-error';

/**
 * Topic-level configs Basket understands, with Kafka's names and Kafka's defaults. Values are
 * strings, as in Kafka's config maps. Both engines accept exactly these; the embedded engine acts on
 * them, the kafka engine passes them to the cluster.
 */
export interface TopicConfigDef {
  default: string;
  /** Returns an error message for a bad value, or undefined. */
  validate(value: string): string | undefined;
  doc: string;
}

const longAtLeast = (min: number) => (v: string): string | undefined =>
  /^-?\d+$/.test(v) && Number(v) >= min && Number.isSafeInteger(Number(v)) ? undefined : `must be an integer >= ${min}`;
const oneOf = (...values: string[]) => (v: string): string | undefined =>
  values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;

export const COMPRESSION_TYPES = ['producer', 'none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'retention.ms': { default: '604800000', validate: longAtLeast(-1), doc: 'Delete segments older than this (ms); -1 keeps forever.' },
  'retention.bytes': { default: '-1', validate: longAtLeast(-1), doc: 'Delete oldest segments while a partition is larger than this; -1 = no limit.' },
  'segment.bytes': { default: '1073741824', validate: longAtLeast(14), doc: 'Roll a new segment when the active one would exceed this size.' },
  'segment.ms': { default: '604800000', validate: longAtLeast(1), doc: 'Roll a new segment when the active one is older than this (ms).' },
  'segment.index.bytes': { default: '10485760', validate: longAtLeast(8), doc: 'Maximum size of an offset or time index file.' },
  'index.interval.bytes': { default: '4096', validate: longAtLeast(0), doc: 'Bytes of log between two sparse index entries.' },
  'max.message.bytes': { default: '1048588', validate: longAtLeast(0), doc: 'Largest record batch the topic accepts.' },
  'compression.type': { default: 'producer', validate: oneOf(...COMPRESSION_TYPES), doc: 'Codec of stored batches; producer keeps what came.' },
  'cleanup.policy': { default: 'delete', validate: oneOf('delete'), doc: 'Only delete is supported (no compaction).' },
  'message.timestamp.type': { default: 'CreateTime', validate: oneOf('CreateTime', 'LogAppendTime'), doc: 'Timestamp kept on records.' },
  'min.insync.replicas': { default: '1', validate: longAtLeast(1), doc: 'Kafka engine: replicas that must acknowledge acks=all.' },
};

/** Checks names and values; throws INVALID_CONFIG naming the first bad entry. */
export function validateTopicConfigs(configs: Record<string, string | null>): void {
  for (const [name, value] of Object.entries(configs)) {
    const def = TOPIC_CONFIGS[name];
    if (def === undefined) throw new EngineError('INVALID_CONFIG', `Unknown topic config '${name}'`);
    if (value === null) continue;
    const problem = def.validate(value);
    if (problem !== undefined) throw new EngineError('INVALID_CONFIG', `Invalid value '${value}' for topic config '${name}': ${problem}`);
  }
}

/** The effective config map: defaults overlaid with the topic's own settings. */
export function effectiveTopicConfigs(overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(TOPIC_CONFIGS)) out[name] = overrides[name] ?? def.default;
  return out;
}
