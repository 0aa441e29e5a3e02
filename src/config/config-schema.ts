import { Type, type Static } from 'typebox';

/**
 * Basket's configuration, validated as a whole at start. Every setting has one environment variable
 * and one `application.yaml` path (Spring style, kebab-case); see settings.ts for the table.
 */
export const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  engine: Type.Union([Type.Literal('embedded'), Type.Literal('kafka')]),
  dataDir: Type.String({ minLength: 1 }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  logPretty: Type.Boolean(),
  /** Default producer acks when a request names none: 'all' (-1), '1' or '0'. */
  defaultAcks: Type.Union([Type.Literal('all'), Type.Literal('1'), Type.Literal('0')]),
  /** auto.create.topics.enable: create unknown topics on first produce. */
  autoCreateTopics: Type.Boolean(),
  /** num.partitions: partition count of auto-created topics and of POST /topics without one. */
  numPartitions: Type.Integer({ minimum: 1, maximum: 10000 }),
  /** Largest request body accepted, bytes. */
  bodyLimit: Type.Integer({ minimum: 1024 }),
  /** Upper bound for a read's `timeout` (long-poll), ms. */
  maxPollTimeoutMs: Type.Integer({ minimum: 0 }),
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs: Type.Integer({ minimum: 10 }),
  /** Time allowed for in-flight requests to finish on SIGTERM before the server closes anyway, ms. */
  shutdownGraceMs: Type.Integer({ minimum: 0 }),
  /**
   * Behind a load balancer: take the client address, scheme and host from X-Forwarded-For,
   * -Proto and -Host (per-client stream limits, consumer base_uri). Off by default: a client
   * reaching Basket directly could otherwise claim any address.
   */
  trustProxy: Type.Boolean(),
  /** Async produce receipts and Idempotency-Keys. */
  produce: Type.Object({
    receiptTtlMs: Type.Integer({ minimum: 10 }),
    maxReceipts: Type.Integer({ minimum: 1 }),
    /** Bounded by the embedded engine's producer.id.expiration.ms: a pending key must outlive no lane's producer state. */
    idempotencyKeyTtlMs: Type.Integer({ minimum: 1000, maximum: 86400000 }),
    /**
     * At most what an embedded partition remembers of key producers (MAX_CALLER_PRODUCERS): a key
     * the table still holds must not be one its partitions forgot, or its resume could append again.
     */
    maxIdempotencyKeys: Type.Integer({ minimum: 1, maximum: 250000 }),
  }),
  /** Transactions (embedded engine). */
  transaction: Type.Object({
    /** Kafka's transaction.timeout.ms, for a transaction that names none. */
    defaultTimeoutMs: Type.Integer({ minimum: 1 }),
    /** Kafka's transaction.max.timeout.ms. */
    maxTimeoutMs: Type.Integer({ minimum: 1 }),
  }),
  /** Consumer instances (consumer groups). */
  consumer: Type.Object({
    /** consumer.instance.timeout.ms: an instance idle this long is closed and leaves its group. */
    instanceTimeoutMs: Type.Integer({ minimum: 10 }),
    /** Kafka's offsets.retention.minutes: an empty group's committed offsets are dropped after it (embedded engine). */
    offsetsRetentionMinutes: Type.Integer({ minimum: 1 }),
  }),
  /** Server-Sent Events streams. */
  sse: Type.Object({
    heartbeatIntervalMs: Type.Integer({ minimum: 10 }),
    retryMs: Type.Integer({ minimum: 0 }),
    clientBufferBytes: Type.Integer({ minimum: 1024 }),
    maxTopicsPerStream: Type.Integer({ minimum: 1, maximum: 1000 }),
    maxStreamsPerClient: Type.Integer({ minimum: 1 }),
  }),
  /** Origins a browser may call from (CORS); '*' for any. */
  cors: Type.Object({
    allowedOrigins: Type.Array(Type.String({ minLength: 1 })),
  }),
  kafka: Type.Object({
    brokers: Type.Array(Type.String({ minLength: 1 })),
    clientId: Type.String({ minLength: 1 }),
    connectionTimeoutMs: Type.Integer({ minimum: 1 }),
    requestTimeoutMs: Type.Integer({ minimum: 1 }),
    ssl: Type.Boolean(),
    saslMechanism: Type.Union([Type.Literal('none'), Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
    saslUsername: Type.String(),
    saslPassword: Type.String(),
    /** Session timeout Basket's consumer-group members send to Kafka's coordinator (heartbeats keep it). */
    groupSessionTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3600000 }),
  }),
});

export type BasketConfig = Static<typeof ConfigSchema>;
