import { ApiError } from '../errors';
import type { IsolationLevel } from '../engine/storage-engine';
import type { EmbeddedFormat } from '../http/media-types';
import { ASSIGNORS } from '../coordinator/group/partition-assignor';

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

/** A consumer instance's settings, with Kafka's and the Confluent REST Proxy's names and defaults. */
export interface ConsumerConfig {
  /** Embedded format of keys and values in responses. Default binary, as the Confluent REST Proxy. */
  format: EmbeddedFormat;
  /** auto.offset.reset: where to start without a committed offset, or when it is out of range. Default latest. */
  autoOffsetReset: AutoOffsetReset;
  /** auto.commit.enable: commit consumed positions every interval, on rebalance and on close. Default true. */
  autoCommitEnable: boolean;
  /** auto.commit.interval.ms. Default 5000. */
  autoCommitIntervalMs: number;
  /** fetch.min.bytes: a records request returns once this many bytes are there (or at its timeout). Default 1. */
  fetchMinBytes: number;
  /** consumer.request.timeout.ms: how long a records request without `timeout` waits. Default 1000. */
  requestTimeoutMs: number;
  /** isolation.level. Default read_committed. */
  isolationLevel: IsolationLevel;
  /** partition.assignment.strategy, in order of preference. Default [range]. */
  assignors: string[];
}

export const CONSUMER_DEFAULTS: ConsumerConfig = {
  format: 'binary',
  autoOffsetReset: 'latest',
  autoCommitEnable: true,
  autoCommitIntervalMs: 5000,
  fetchMinBytes: 1,
  requestTimeoutMs: 1000,
  isolationLevel: 'read_committed',
  assignors: ['range'],
};

/** The body of POST /consumers/{group}: Confluent's names; values may be strings, as its clients send them. */
export interface ConsumerConfigInput {
  format?: string;
  'auto.offset.reset'?: string;
  'auto.commit.enable'?: string | boolean;
  'enable.auto.commit'?: string | boolean;
  'auto.commit.interval.ms'?: string | number;
  'fetch.min.bytes'?: string | number;
  'consumer.request.timeout.ms'?: string | number;
  'isolation.level'?: string;
  'partition.assignment.strategy'?: string | string[];
}

/** Validates a create body; every problem is 42204 naming the setting. */
export function parseConsumerConfig(input: ConsumerConfigInput, maxRequestTimeoutMs: number): ConsumerConfig {
  const format = (input.format ?? CONSUMER_DEFAULTS.format).toLowerCase();
  if (format !== 'json' && format !== 'binary' && format !== 'string') {
    throw invalid('format', `must be json, binary or string (schema formats need a schema registry), got '${input.format}'`);
  }
  const reset = input['auto.offset.reset'] ?? CONSUMER_DEFAULTS.autoOffsetReset;
  // Kafka's old names (smallest, largest) are still sent by some clients.
  const autoOffsetReset = ({ earliest: 'earliest', smallest: 'earliest', latest: 'latest', largest: 'latest', none: 'none' } as const)[reset as 'none'];
  if (autoOffsetReset === undefined) throw invalid('auto.offset.reset', `must be earliest, latest or none, got '${reset}'`);
  const isolation = input['isolation.level'] ?? CONSUMER_DEFAULTS.isolationLevel;
  if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') {
    throw invalid('isolation.level', `must be read_committed or read_uncommitted, got '${isolation}'`);
  }
  return {
    format,
    autoOffsetReset,
    autoCommitEnable: bool('auto.commit.enable', input['auto.commit.enable'] ?? input['enable.auto.commit'], CONSUMER_DEFAULTS.autoCommitEnable),
    autoCommitIntervalMs: int('auto.commit.interval.ms', input['auto.commit.interval.ms'], CONSUMER_DEFAULTS.autoCommitIntervalMs, 1, 86_400_000),
    // Confluent's default is -1, meaning "any record"; anything below 1 means the same here.
    fetchMinBytes: Math.max(1, int('fetch.min.bytes', input['fetch.min.bytes'], CONSUMER_DEFAULTS.fetchMinBytes, -1, 64 * 1024 * 1024)),
    requestTimeoutMs: int('consumer.request.timeout.ms', input['consumer.request.timeout.ms'], CONSUMER_DEFAULTS.requestTimeoutMs, 0, maxRequestTimeoutMs),
    isolationLevel: isolation,
    assignors: assignors(input['partition.assignment.strategy']),
  };
}

function assignors(value: string | string[] | undefined): string[] {
  if (value === undefined) return CONSUMER_DEFAULTS.assignors;
  const names = (Array.isArray(value) ? value : value.split(',')).map((n) => normaliseAssignor(n.trim())).filter((n) => n !== '');
  if (names.length === 0) throw invalid('partition.assignment.strategy', 'names no assignor');
  for (const n of names) {
    if (ASSIGNORS[n] === undefined) throw invalid('partition.assignment.strategy', `unknown assignor '${n}'; use ${Object.keys(ASSIGNORS).join(' or ')}`);
  }
  return [...new Set(names)];
}

/** Accepts Kafka's class names (org.apache.kafka.clients.consumer.RangeAssignor) as well as the short names. */
function normaliseAssignor(name: string): string {
  const simple = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  if (simple === 'rangeassignor') return 'range';
  if (simple === 'roundrobinassignor') return 'roundrobin';
  return simple;
}

function bool(name: string, value: string | boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(name, `must be true or false, got '${String(value)}'`);
}

function int(name: string, value: string | number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(name, `must be an integer from ${min} to ${max}, got '${String(value)}'`);
  return n;
}

function invalid(name: string, problem: string): ApiError {
  return new ApiError('INVALID_CONSUMER_CONFIG', `Invalid consumer config ${name}: ${problem}`);
}
