import { crc32c } from './crc32c';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_MASK,
  CorruptBatchError,
  CRC_OFFSET,
  CRC_START,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
} from './record-batch-format';
import { readInt64, writeInt64 } from './varint';

/** The fixed 61-byte header of a v2 batch, plus values derived from it. */
export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** batchLength + LOG_OVERHEAD: the whole batch on disk. */
  sizeInBytes: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  /** attributes & 7. */
  compression: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  isTransactional: boolean;
  isControl: boolean;
}

/**
 * Reads the header of the batch at `pos`. Only the 61 header bytes need to be present, so a log
 * reader can learn a batch's size before it has the rest; the CRC is not checked here.
 */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  if (pos < 0 || buf.length - pos < BATCH_HEADER_SIZE) {
    throw new CorruptBatchError(
      `record batch header needs ${BATCH_HEADER_SIZE} bytes at position ${pos}, buffer has ${Math.max(0, buf.length - pos)}`,
    );
  }
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new CorruptBatchError(`record batch at position ${pos} has magic ${magic}, only magic ${MAGIC_V2} is supported`);
  }
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    throw new CorruptBatchError(`record batch at position ${pos} has batchLength ${batchLength}, below the header size`);
  }
  const baseOffset = readInt64(buf, pos);
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes,
    lastOffsetDelta,
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_OFFSET),
    sizeInBytes: batchLength + LOG_OVERHEAD,
    lastOffset: baseOffset + lastOffsetDelta,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControl: (attributes & CONTROL_MASK) !== 0,
  };
}

/**
 * True when the whole batch at `pos` is present and its stored CRC-32C matches attributes..end.
 * False, never an exception, for a batch cut short: that is how a torn log tail looks.
 */
export function isBatchCrcValid(buf: Buffer, pos = 0): boolean {
  if (pos < 0 || buf.length - pos < BATCH_HEADER_SIZE) return false;
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (end > buf.length || end < pos + BATCH_HEADER_SIZE) return false;
  return crc32c(buf, pos + CRC_START, end) === buf.readUInt32BE(pos + CRC_OFFSET);
}

/** Rewrites the batch's base offset. It lies outside the CRC, so the CRC stays valid. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeInt64(buf, pos, baseOffset);
}

/** Rewrites the partition leader epoch, also outside the CRC. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Stamps the batch with the broker's append time, as Kafka does for topics with
 * message.timestamp.type=LogAppendTime: sets the timestamp-type bit and maxTimestamp, then
 * recomputes the CRC (both fields are inside it). Record timestamps are left as they were.
 */
export function setLogAppendTime(buf: Buffer, pos: number, logAppendTime: number): void {
  const header = readBatchHeader(buf, pos);
  const end = pos + header.sizeInBytes;
  if (end > buf.length) {
    throw new CorruptBatchError(`record batch at position ${pos} needs ${header.sizeInBytes} bytes, buffer has ${buf.length - pos}`);
  }
  buf.writeInt16BE(header.attributes | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, logAppendTime);
  buf.writeUInt32BE(crc32c(buf, pos + CRC_START, end), pos + CRC_OFFSET);
}
