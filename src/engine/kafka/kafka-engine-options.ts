import type { KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';

/**
 * Settings of the kafka engine. Names follow kafkajs where kafkajs has the setting, and Kafka's
 * client configs otherwise (fetch.max.wait.ms). PEM material is passed as text, not file paths:
 * reading files is the configuration loader's job.
 */
export interface KafkaSslOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Default true; false accepts any server certificate (test clusters only). */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSaslOptions {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

export interface KafkaRetryOptions {
  /** Retries of a retriable failure before giving up (kafkajs default 5). */
  retries?: number;
  /** First backoff in ms, doubled with jitter on each retry (kafkajs default 300). */
  initialRetryTime?: number;
  /** No retry starts after this many ms (kafkajs default 30000). */
  maxRetryTime?: number;
}

export interface KafkaEngineOptions {
  /** Bootstrap list, "host:port" each. */
  brokers: string[];
  clientId?: string;
  /** true = TLS with the system's trust store. */
  ssl?: boolean | KafkaSslOptions;
  sasl?: KafkaSaslOptions;
  /** ms to establish a TCP (and TLS) connection. */
  connectionTimeout?: number;
  /** ms to wait for a response (a fetch adds its own wait on top, as kafkajs does). */
  requestTimeout?: number;
  retry?: KafkaRetryOptions;
  /**
   * Longest wait of one Fetch request at the broker, Kafka's fetch.max.wait.ms. A long poll of the
   * engine longer than this is a series of such fetches, as a Kafka consumer's poll() is.
   */
  fetchMaxWaitMs?: number;
  /**
   * Connections used for fetches, per broker. A Kafka broker answers one connection's requests in
   * order, so one long-polling fetch holds up the next on the same connection.
   */
  fetchConnections?: number;
  /** Metadata older than this is refreshed before use (Kafka's metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  /** Backoff of the background reconnect loop while the cluster is unreachable. */
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /**
   * acks=all appends carry a producer id, epoch and sequence (Kafka's enable.idempotence, default
   * true), so the engine retries them after a timeout or a lost connection without a duplicate.
   */
  idempotence?: boolean;
}

export type ResolvedKafkaEngineOptions = Required<Omit<KafkaEngineOptions, 'ssl' | 'sasl' | 'retry'>> & {
  ssl?: boolean | KafkaSslOptions;
  sasl?: KafkaSaslOptions;
  retry: Required<KafkaRetryOptions>;
};

export const KAFKA_ENGINE_DEFAULTS = {
  clientId: 'basket',
  connectionTimeout: 3000,
  requestTimeout: 30000,
  retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 30000 },
  fetchMaxWaitMs: 500,
  fetchConnections: 4,
  metadataMaxAgeMs: 300000,
  reconnectBackoffMs: 500,
  reconnectBackoffMaxMs: 10000,
  idempotence: true,
} as const;

export function resolveKafkaEngineOptions(options: KafkaEngineOptions): ResolvedKafkaEngineOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new Error('kafka engine: at least one broker ("host:port") is required');
  }
  for (const broker of options.brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(broker)) {
      throw new Error(`kafka engine: broker '${broker}' is not "host:port"`);
    }
  }
  const positive = (name: string, value: number): number => {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`kafka engine: ${name} must be a positive integer, got ${value}`);
    return value;
  };
  const d = KAFKA_ENGINE_DEFAULTS;
  return {
    brokers: [...options.brokers],
    clientId: options.clientId ?? d.clientId,
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: positive('connectionTimeout', options.connectionTimeout ?? d.connectionTimeout),
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? d.requestTimeout),
    retry: {
      retries: options.retry?.retries ?? d.retry.retries,
      initialRetryTime: positive('retry.initialRetryTime', options.retry?.initialRetryTime ?? d.retry.initialRetryTime),
      maxRetryTime: positive('retry.maxRetryTime', options.retry?.maxRetryTime ?? d.retry.maxRetryTime),
    },
    fetchMaxWaitMs: positive('fetchMaxWaitMs', options.fetchMaxWaitMs ?? d.fetchMaxWaitMs),
    fetchConnections: positive('fetchConnections', options.fetchConnections ?? d.fetchConnections),
    metadataMaxAgeMs: positive('metadataMaxAgeMs', options.metadataMaxAgeMs ?? d.metadataMaxAgeMs),
    reconnectBackoffMs: positive('reconnectBackoffMs', options.reconnectBackoffMs ?? d.reconnectBackoffMs),
    reconnectBackoffMaxMs: positive('reconnectBackoffMaxMs', options.reconnectBackoffMaxMs ?? d.reconnectBackoffMaxMs),
    idempotence: options.idempotence ?? d.idempotence,
  };
}

/** The client settings shared by every kafkajs client the engine makes (logging is added by the caller). */
export function kafkajsClientConfig(options: ResolvedKafkaEngineOptions): Omit<KafkaConfig, 'logCreator' | 'logLevel'> {
  const retry: RetryOptions = { ...options.retry };
  const sasl: SASLOptions | undefined = options.sasl && { ...options.sasl };
  return {
    brokers: options.brokers,
    clientId: options.clientId,
    ssl: options.ssl,
    sasl,
    connectionTimeout: options.connectionTimeout,
    requestTimeout: options.requestTimeout,
    enforceRequestTimeout: true,
    retry,
  };
}
