/**
 * Kafka's record batch v2 codec: the API the embedded log builds on. The format is described in
 * record-batch-format.ts; encoding, header access, decoding and compression live in their own files.
 */
export {
  MAGIC_V2,
  LOG_OVERHEAD,
  BATCH_HEADER_SIZE,
  CRC_OFFSET,
  CRC_START,
  MAGIC_OFFSET,
  COMPRESSION_CODEC_MASK,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  CONTROL_MASK,
  COMPRESSION_NONE,
  MIN_RECORD_SIZE,
  compressionName,
  CorruptBatchError,
} from './record-batch-format';
export type {
  CompressionName,
  RecordHeaderBytes,
  RecordInput,
  EncoderRecordInput,
  BatchEncodeOptions,
  DecodedRecord,
} from './record-batch-format';
export type { RecordBatchHeader } from './record-batch-header';
export {
  readBatchHeader,
  isBatchCrcValid,
  setBaseOffset,
  setPartitionLeaderEpoch,
  setLogAppendTime,
} from './record-batch-header';
export { encodeRecordBatch } from './record-batch-encoder';
export { decodeRecords, decompressRecords } from './record-batch-decoder';
export type { CompressionCodec, CompressionType } from './compression';
export { compressionCodec, compressionIdOf, assertCompressionTypeAvailable } from './compression';
