/**
 * The storage engine contract: everything the HTTP layer and the coordinators need from a log store.
 * Two implementations: `embedded` (on-disk logs in Kafka's record batch v2 format) and `kafka`
 * (an Apache Kafka cluster through kafkajs). No HTTP types appear here.
 *
 * Offsets are JavaScript numbers: exact up to 2^53, far beyond any partition's lifetime.
 * Every method throws only `EngineError` (see engine-error.ts) for expected failures.
 */

/** Producer acks: 0 = validated only, 1 = written to the log, -1 (all) = fsynced. */
export type Acks = 0 | 1 | -1;

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/**
 * A record as a producer hands it to an engine: key and value already serialized. A string stands
 * for its UTF-8 bytes (the HTTP layer's JSON and string formats), so that the embedded engine can
 * write it into the batch without an intermediate Buffer per record.
 */
export interface ProducerRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[];
  /** CreateTime, ms since the epoch; the engine uses the append time when absent. */
  timestamp?: number;
}

/**
 * An idempotent producer's identity for one append, as in Kafka's record batch header: the engine
 * keeps the last batches of each producer per partition, answers a repeated batch with its first
 * offsets (`AppendResult.duplicate`) and refuses a gap (OUT_OF_ORDER_SEQUENCE_NUMBER) or a fenced
 * epoch (INVALID_PRODUCER_EPOCH). Sequences are per producer and partition, int32, wrapping to 0.
 */
export interface ProducerBatchIdentity {
  producerId: number;
  producerEpoch: number;
  /** Sequence of the append's first record. */
  baseSequence: number;
}

/**
 * Producer ids at or above it are never handed out by `allocateProducerIds`: they belong to callers
 * that derive an identity themselves (one per Idempotency-Key, see keyedProducerId). 2^52, so that
 * such ids stay safe integers (below 2^53) and Kafka's int64 producer ids.
 */
export const CALLER_PRODUCER_ID_BASE = 2 ** 52;

const INT32_MAX = 0x7fff_ffff;

/** Kafka's DefaultRecordBatch.incrementSequence: producer sequences are int32 and wrap to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

export interface AppendOptions {
  acks: Acks;
  /**
   * Set by idempotent producers. Engines with `allocateProducerIds` honour the ids they handed out,
   * engines with `honoursCallerProducerIds` any id; other engines ignore it.
   */
  producer?: ProducerBatchIdentity;
  /**
   * A transactional batch (needs `producer`): its records stay above the partition's last stable
   * offset until a control marker of the same producer ends the transaction (`writeTxnMarkers`).
   */
  transactional?: boolean;
  /**
   * Kafka's transactional.id of a transactional batch. The kafka engine needs it (Kafka's Produce
   * carries it and checks it against the transaction coordinator); the embedded engine ignores it.
   */
  transactionalId?: string;
  /**
   * Every record's value is null or JSON text (the produce path checked it, as for the json
   * embedded format): the engine may remember it for json reads, which then copy the values without
   * checking them again. Engines without such a memory ignore it.
   */
  valuesAreJson?: boolean;
}

/** Kafka's WriteTxnMarkers entry: ends one producer's transaction on one partition. */
export interface TxnMarker {
  topic: string;
  partition: number;
  producerId: number;
  /** The coordinator's epoch for the producer; older epochs are fenced (PRODUCER_FENCED). */
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/** Where an append landed. For acks=0 the offsets are still the real ones on the embedded engine. */
export interface AppendResult {
  topic: string;
  partition: number;
  baseOffset: number;
  /** Offset of the last record of the append (baseOffset + count - 1). */
  lastOffset: number;
  /** The batch's timestamp: max CreateTime of its records, or the append time. */
  timestamp: number;
  logStartOffset: number;
  /** True when the batch was a retry of one already in the log: nothing was appended, the offsets are the first append's. */
  duplicate?: boolean;
}

/** A block of producer ids handed out once: [firstProducerId, firstProducerId + count). */
export interface ProducerIdBlock {
  firstProducerId: number;
  count: number;
}

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: TimestampType;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface FetchPartition {
  topic: string;
  partition: number;
  /** First offset wanted. */
  offset: number;
  /** Per-partition byte budget (Kafka's partition max bytes); defaults to the request's maxBytes. */
  maxBytes?: number;
}

/**
 * A multi-partition fetch, as Kafka's Fetch API: returns as soon as `minBytes` are available across
 * the partitions, or after `maxWaitMs`, or when `signal` aborts. Waiting is event driven: an append
 * wakes the waiter; nothing polls.
 */
export interface FetchRequest {
  partitions: FetchPartition[];
  /**
   * Total byte budget for the response, counted in whole record batches as Kafka does (the first
   * batch is returned even if larger). Record-level budgets (Confluent's max_bytes) are the HTTP
   * layer's: see renderSources in src/http/routes/consumers/records-json.ts.
   */
  maxBytes: number;
  minBytes?: number;
  maxWaitMs: number;
  isolationLevel: IsolationLevel;
  signal?: AbortSignal;
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  records: ConsumerRecord[];
  /** Offset to fetch next: one past the last record returned (or the request's offset if none). */
  nextOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** Set instead of throwing, so one bad partition does not fail the others. */
  error?: import('./engine-error').EngineError;
}

export interface FetchResponse {
  partitions: FetchPartitionResult[];
}

/**
 * One record at a time over bytes the engine holds, with no object or string per record: the
 * records routes write JSON straight from it. After `next()` returns true the fields describe the
 * current record; they change on the next call. Key bytes are `keyBytes[keyStart, keyEnd)`, with
 * `keyEnd` -1 for a null key; the same for the value. The bytes stay valid while the cursor is
 * referenced. A stored batch found malformed while walking throws EngineError CORRUPT_MESSAGE.
 */
export interface RecordCursor {
  next(): boolean;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: TimestampType;
  readonly keyBytes: Buffer;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueBytes: Buffer;
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly headerCount: number;
  /** The current record's headers (built on call: headers are the rare case). */
  headers(): RecordHeader[];
  /** Bytes of stored batches the cursor walks, where the engine knows: a size hint for the output. */
  readonly storedBytes?: number;
  /**
   * True when every value of the current record's stored batch is known to be JSON text (an earlier
   * reader checked them all and told `valueWasJson`): a json reader may copy it without checking.
   */
  readonly valuesAreJson?: boolean;
  /** A reader checked the current record's value and found it JSON text (or null); engines may remember whole batches of such. */
  valueWasJson?(): void;
}

/** A partition's answer to `fetchCursors`: as FetchPartitionResult, with a cursor for the records. */
export interface FetchCursorPartitionResult extends Omit<FetchPartitionResult, 'records'> {
  /** The records FetchPartitionResult.records would hold, in order (none at or above nextOffset). */
  records: RecordCursor;
  /** True when the cursor holds no record at all (a partition of only control or aborted batches). */
  empty: boolean;
}

export interface FetchCursorResponse {
  partitions: FetchCursorPartitionResult[];
}

/** earliest = log start offset; latest = high watermark; timestamp = first offset with timestamp >= t. */
export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

export interface ListOffsetResult {
  /** -1 when a timestamp lookup finds no record at or after it. */
  offset: number;
  /** Timestamp of the record found, -1 for earliest/latest. */
  timestamp: number;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  /** Bytes on disk; -1 where the engine cannot tell. */
  sizeBytes: number;
}

export interface TopicDescription {
  name: string;
  internal: boolean;
  partitions: PartitionDescription[];
  /** Effective topic configs (defaults filled in), as Kafka's string-valued config map. */
  configs: Record<string, string>;
}

export interface NewTopic {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface BrokerDescription {
  id: number;
  host: string;
  port: number;
}

export interface EngineHealth {
  status: 'UP' | 'DOWN';
  details: Record<string, unknown>;
}

export interface StorageEngine {
  readonly name: 'embedded' | 'kafka';

  /** Opens the store (embedded: load metadata, recover logs; kafka: connect). */
  start(): Promise<void>;
  /** Flushes and closes; after it resolves no file or socket stays open. */
  close(): Promise<void>;
  health(): EngineHealth;

  listTopics(): Promise<string[]>;
  /** Throws UNKNOWN_TOPIC_OR_PARTITION for an unknown topic. */
  describeTopic(topic: string): Promise<TopicDescription>;
  /** Partition count, cheap and cached; undefined for an unknown topic. */
  partitionCount(topic: string): Promise<number | undefined>;
  /** Throws TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_CONFIG. */
  createTopic(topic: NewTopic): Promise<TopicDescription>;
  /** Grows a topic to `count` partitions; a smaller or equal count is INVALID_PARTITIONS. */
  createPartitions(topic: string, count: number): Promise<void>;
  /** Sets (string) or resets to default (null) topic configs; unknown names are INVALID_CONFIG. */
  alterTopicConfigs(topic: string, configs: Record<string, string | null>): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  brokers(): Promise<BrokerDescription[]>;

  /**
   * Appends records to one partition, all or nothing, in order. Resolves once as durable as
   * `acks` asks. Throws UNKNOWN_TOPIC_OR_PARTITION, RECORD_TOO_LARGE (max.message.bytes of the
   * batch), KAFKA_STORAGE_ERROR.
   */
  append(topic: string, partition: number, records: ProducerRecord[], options: AppendOptions): Promise<AppendResult>;
  fetch(request: FetchRequest): Promise<FetchResponse>;
  /**
   * The same fetch (same waiting, budget, isolation and errors), answered with cursors over the
   * stored record batches instead of record objects, so a reader can go from stored bytes to its
   * output in one pass. Present on engines that hold Kafka's batches themselves (the embedded
   * engine); callers fall back to `fetch` without it.
   */
  fetchCursors?(request: FetchRequest): Promise<FetchCursorResponse>;
  listOffset(topic: string, partition: number, spec: OffsetSpec, isolationLevel?: IsolationLevel): Promise<ListOffsetResult>;

  /**
   * Kafka's AllocateProducerIds: a block of producer ids never handed out before, durably, also
   * across restarts. Present only on engines that keep idempotent producer state (the embedded
   * engine); callers on other engines append without a producer identity.
   */
  allocateProducerIds?(count: number): Promise<ProducerIdBlock>;

  /**
   * True when an append's `producer` is honoured whatever its id, also one that no
   * `allocateProducerIds` handed out (an id the caller derived itself): the batch is stored with
   * exactly that id, epoch and base sequence, a producer the partition does not know may start at
   * sequence 0, and a repeat of one of the producer's last 5 batches there is answered with the
   * first append's offsets instead of being appended again. The kafka engine: Kafka's brokers keep
   * the producer state and do the dedup (see src/engine/kafka/README.md, Idempotent produce, for
   * how long they remember a producer).
   */
  readonly honoursCallerProducerIds?: boolean;

  /**
   * Kafka's WriteTxnMarkers: appends a control batch (commit or abort) for the producer to each
   * partition, fsynced, and resolves once every one is durable. Idempotent: a marker for a partition
   * where the producer has no open transaction is written but changes nothing a reader sees. Present
   * only on engines with transactions (the embedded engine).
   */
  writeTxnMarkers?(markers: TxnMarker[]): Promise<void>;
}
