/**
 * Kafka's record batch v2 (magic 2) layout, shared by the header reader, the encoder and the decoder.
 *
 *   offset  size  field
 *        0     8  baseOffset            int64   (outside the CRC: rewritten when the log assigns offsets)
 *        8     4  batchLength           int32   bytes after this field
 *       12     4  partitionLeaderEpoch  int32   (outside the CRC)
 *       16     1  magic                 int8    = 2
 *       17     4  crc                   uint32  CRC-32C of bytes 21 .. end of batch
 *       21     2  attributes            int16   bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control
 *       23     4  lastOffsetDelta       int32
 *       27     8  baseTimestamp         int64
 *       35     8  maxTimestamp          int64
 *       43     8  producerId            int64
 *       51     2  producerEpoch         int16
 *       53     4  baseSequence          int32
 *       57     4  recordCount           int32
 *       61        records
 *
 * Each record: length varint (bytes after it), attributes int8 (unused, 0), timestampDelta varlong,
 * offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
 * headerCount varint, then per header keyLength varint, key (UTF-8), valueLength varint (-1 = null), value.
 */

export const MAGIC_V2 = 2;
/** baseOffset int64 + batchLength int32: the bytes before batchLength starts counting. */
export const LOG_OVERHEAD = 12;
/** Bytes from the start of a batch through recordCount. */
export const BATCH_HEADER_SIZE = 61;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
/** The CRC covers everything from the attributes to the end of the batch. */
export const CRC_START = ATTRIBUTES_OFFSET;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;

/** Smallest possible record: 1-byte length, attributes, timestampDelta, offsetDelta, key and value lengths, header count. */
export const MIN_RECORD_SIZE = 7;

/** Kafka's compression codec ids (attributes bits 0-2). */
export const COMPRESSION_NONE = 0;
const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

/** The codec's name for an id, or undefined for ids Kafka does not define (5-7). */
export function compressionName(id: number): CompressionName | undefined {
  return COMPRESSION_NAMES[id];
}

/** Same shape as RecordHeader in storage-engine.ts. */
export interface RecordHeaderBytes {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  /** A string stands for its UTF-8 bytes; the encoder writes it without an intermediate Buffer. */
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeaderBytes[];
  /** ms since the epoch; the record's CreateTime. */
  timestamp: number;
}

/** What the encoder takes: a record whose CreateTime may be absent (then the batch's `defaultTimestamp`). */
export type EncoderRecordInput = Omit<RecordInput, 'timestamp'> & { timestamp?: number };

export interface BatchEncodeOptions {
  baseOffset: number;
  /** LogAppendTime: maxTimestamp = logAppendTime, and readers take it as every record's timestamp. */
  timestampType?: 'CreateTime' | 'LogAppendTime';
  logAppendTime?: number;
  /** CreateTime of the records that have none (required when any has none). */
  defaultTimestamp?: number;
  /** Defaults -1, -1, -1: no idempotent producer. */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Default 0. */
  partitionLeaderEpoch?: number;
  /** Codec id (attributes bits 0-2) the records section is compressed with; default 0, none. */
  compression?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaderBytes[];
}

/** A batch that cannot be read as Kafka's v2 format: too short, wrong magic, or malformed records. */
export class CorruptBatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptBatchError';
  }
}
