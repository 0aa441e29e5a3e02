/**
 * The settings table: for each config path, its environment variable, its application.yaml path
 * and its default. Environment wins over the profile overlay, which wins over application.yaml,
 * which wins over the default.
 */
export type SettingKind = 'string' | 'integer' | 'boolean' | 'list';

export interface Setting {
  /** Dotted path in BasketConfig. */
  path: string;
  env: string;
  /** Dotted kebab-case path in application.yaml. */
  yaml: string;
  kind: SettingKind;
  default: string | number | boolean | string[];
  doc: string;
}

export const SETTINGS: readonly Setting[] = [
  { path: 'port', env: 'PORT', yaml: 'server.port', kind: 'integer', default: 8080, doc: 'HTTP port.' },
  { path: 'host', env: 'HOST', yaml: 'server.host', kind: 'string', default: '0.0.0.0', doc: 'Address to listen on.' },
  { path: 'engine', env: 'BASKET_ENGINE', yaml: 'basket.engine', kind: 'string', default: 'embedded', doc: 'Storage engine: embedded or kafka.' },
  { path: 'dataDir', env: 'BASKET_DATA_DIR', yaml: 'basket.data-dir', kind: 'string', default: './data', doc: 'Embedded engine data directory.' },
  { path: 'logLevel', env: 'LOG_LEVEL', yaml: 'logging.level', kind: 'string', default: 'info', doc: 'fatal, error, warn, info, debug, trace or silent.' },
  { path: 'logPretty', env: 'LOG_PRETTY', yaml: 'logging.pretty', kind: 'boolean', default: false, doc: 'Human-readable logs instead of JSON lines.' },
  { path: 'defaultAcks', env: 'BASKET_DEFAULT_ACKS', yaml: 'basket.producer.acks', kind: 'string', default: 'all', doc: 'acks when a produce request names none: all, 1 or 0.' },
  { path: 'autoCreateTopics', env: 'BASKET_AUTO_CREATE_TOPICS', yaml: 'basket.auto-create-topics', kind: 'boolean', default: true, doc: 'auto.create.topics.enable.' },
  { path: 'numPartitions', env: 'BASKET_NUM_PARTITIONS', yaml: 'basket.num-partitions', kind: 'integer', default: 1, doc: 'num.partitions for new topics.' },
  { path: 'bodyLimit', env: 'BASKET_BODY_LIMIT', yaml: 'basket.body-limit', kind: 'integer', default: 16 * 1024 * 1024, doc: 'Largest request body, bytes.' },
  { path: 'maxPollTimeoutMs', env: 'BASKET_MAX_POLL_TIMEOUT_MS', yaml: 'basket.max-poll-timeout-ms', kind: 'integer', default: 30000, doc: 'Largest long-poll timeout a read may ask for, ms.' },
  { path: 'retentionCheckIntervalMs', env: 'BASKET_RETENTION_CHECK_INTERVAL_MS', yaml: 'basket.retention-check-interval-ms', kind: 'integer', default: 300000, doc: 'log.retention.check.interval.ms.' },
  { path: 'trustProxy', env: 'BASKET_TRUST_PROXY', yaml: 'server.trust-proxy', kind: 'boolean', default: false, doc: 'Trust X-Forwarded-For/-Proto/-Host from a load balancer in front.' },
  { path: 'shutdownGraceMs', env: 'BASKET_SHUTDOWN_GRACE_MS', yaml: 'server.shutdown-grace-ms', kind: 'integer', default: 10000, doc: 'Time for in-flight requests on SIGTERM, ms.' },
  { path: 'produce.receiptTtlMs', env: 'BASKET_RECEIPT_TTL_MS', yaml: 'basket.producer.receipt-ttl-ms', kind: 'integer', default: 300000, doc: 'Async produce: a receipt is kept this long after its outcome is known, ms.' },
  { path: 'produce.maxReceipts', env: 'BASKET_MAX_RECEIPTS', yaml: 'basket.producer.max-receipts', kind: 'integer', default: 100000, doc: 'Async produce: most receipts held; when all are pending, async requests get 429.' },
  { path: 'produce.idempotencyKeyTtlMs', env: 'BASKET_IDEMPOTENCY_KEY_TTL_MS', yaml: 'basket.producer.idempotency-key-ttl-ms', kind: 'integer', default: 86400000, doc: "Idempotency-Key window: a key is remembered this long after its first request, ms (at most producer.id.expiration.ms, a day)." },
  { path: 'produce.maxIdempotencyKeys', env: 'BASKET_MAX_IDEMPOTENCY_KEYS', yaml: 'basket.producer.max-idempotency-keys', kind: 'integer', default: 200000, doc: 'Most Idempotency-Keys held in memory (at most 250000, what a partition remembers of key producers); past it the oldest are forgotten before their window ends.' },
  { path: 'transaction.defaultTimeoutMs', env: 'BASKET_TRANSACTION_TIMEOUT_MS', yaml: 'basket.transaction.timeout-ms', kind: 'integer', default: 60000, doc: "transaction.timeout.ms: a transaction that names no timeout_ms is aborted when open this long, ms." },
  { path: 'transaction.maxTimeoutMs', env: 'BASKET_TRANSACTION_MAX_TIMEOUT_MS', yaml: 'basket.transaction.max-timeout-ms', kind: 'integer', default: 900000, doc: 'transaction.max.timeout.ms: the largest timeout_ms a transaction may ask for, ms.' },
  { path: 'consumer.offsetsRetentionMinutes', env: 'BASKET_OFFSETS_RETENTION_MINUTES', yaml: 'basket.consumer.offsets-retention-minutes', kind: 'integer', default: 10080, doc: "offsets.retention.minutes: a group's committed offsets are dropped once it has been empty this long (and they were not committed in that time either); never while it has members. Embedded engine." },
  { path: 'consumer.instanceTimeoutMs', env: 'BASKET_CONSUMER_INSTANCE_TIMEOUT_MS', yaml: 'basket.consumer.instance-timeout-ms', kind: 'integer', default: 300000, doc: 'consumer.instance.timeout.ms: a consumer instance idle this long is closed and leaves its group, ms.' },
  { path: 'sse.heartbeatIntervalMs', env: 'BASKET_SSE_HEARTBEAT_INTERVAL_MS', yaml: 'basket.sse.heartbeat-interval-ms', kind: 'integer', default: 15000, doc: 'Event streams: a comment to every stream idle this long, so proxies keep it, ms.' },
  { path: 'sse.retryMs', env: 'BASKET_SSE_RETRY_MS', yaml: 'basket.sse.retry-ms', kind: 'integer', default: 1000, doc: "Event streams: the retry: hint, a client's reconnect delay, ms." },
  { path: 'sse.clientBufferBytes', env: 'BASKET_SSE_CLIENT_BUFFER_BYTES', yaml: 'basket.sse.client-buffer-bytes', kind: 'integer', default: 1048576, doc: 'Event streams: unread bytes a client may leave before its stream ends with the resume cursor.' },
  { path: 'sse.maxTopicsPerStream', env: 'BASKET_SSE_MAX_TOPICS_PER_STREAM', yaml: 'basket.sse.max-topics-per-stream', kind: 'integer', default: 16, doc: 'Event streams: most topics one stream may follow.' },
  { path: 'sse.maxStreamsPerClient', env: 'BASKET_SSE_MAX_STREAMS_PER_CLIENT', yaml: 'basket.sse.max-streams-per-client', kind: 'integer', default: 64, doc: 'Event streams: most open streams per client address.' },
  { path: 'cors.allowedOrigins', env: 'BASKET_CORS_ALLOWED_ORIGINS', yaml: 'server.cors.allowed-origins', kind: 'list', default: [], doc: 'Browser origins allowed by CORS, comma separated (https://app.example.com), or *; empty: none.' },
  { path: 'kafka.brokers', env: 'BASKET_KAFKA_BROKERS', yaml: 'basket.kafka.brokers', kind: 'list', default: ['localhost:9092'], doc: 'Kafka bootstrap servers, comma separated.' },
  { path: 'kafka.clientId', env: 'BASKET_KAFKA_CLIENT_ID', yaml: 'basket.kafka.client-id', kind: 'string', default: 'basket', doc: 'Kafka client.id.' },
  { path: 'kafka.connectionTimeoutMs', env: 'BASKET_KAFKA_CONNECTION_TIMEOUT_MS', yaml: 'basket.kafka.connection-timeout-ms', kind: 'integer', default: 3000, doc: 'Kafka connection timeout, ms.' },
  { path: 'kafka.requestTimeoutMs', env: 'BASKET_KAFKA_REQUEST_TIMEOUT_MS', yaml: 'basket.kafka.request-timeout-ms', kind: 'integer', default: 30000, doc: 'Kafka request timeout, ms.' },
  { path: 'kafka.ssl', env: 'BASKET_KAFKA_SSL', yaml: 'basket.kafka.ssl', kind: 'boolean', default: false, doc: 'TLS to the brokers.' },
  { path: 'kafka.saslMechanism', env: 'BASKET_KAFKA_SASL_MECHANISM', yaml: 'basket.kafka.sasl.mechanism', kind: 'string', default: 'none', doc: 'none, plain, scram-sha-256 or scram-sha-512.' },
  { path: 'kafka.saslUsername', env: 'BASKET_KAFKA_SASL_USERNAME', yaml: 'basket.kafka.sasl.username', kind: 'string', default: '', doc: 'SASL user.' },
  { path: 'kafka.saslPassword', env: 'BASKET_KAFKA_SASL_PASSWORD', yaml: 'basket.kafka.sasl.password', kind: 'string', default: '', doc: 'SASL password.' },
  { path: 'kafka.groupSessionTimeoutMs', env: 'BASKET_KAFKA_GROUP_SESSION_TIMEOUT_MS', yaml: 'basket.kafka.group-session-timeout-ms', kind: 'integer', default: 10000, doc: "Kafka engine: session timeout of consumer-group members at Kafka's coordinator; a Basket process that dies frees its partitions within it, ms." },
];
