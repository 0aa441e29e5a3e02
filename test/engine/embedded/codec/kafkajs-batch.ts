/**
 * kafkajs's own record batch v2 encoder and decoder (internal modules of kafkajs 2.2.4, pinned),
 * the second implementation the codec tests check ours against.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const Long = require('kafkajs/src/utils/long');
const KafkaDecoder = require('kafkajs/src/protocol/decoder');
export const kafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0');
export const { RecordBatch: kafkaRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const kafkaBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder');
/* eslint-enable @typescript-eslint/no-require-imports */

/** A record as kafkajs's decoder gives it: int64 fields as strings, headers as an object. */
export interface KafkajsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | Array<Buffer | null>>;
}

export interface KafkajsBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  lastOffsetDelta: number;
  records: KafkajsRecord[];
}

export async function kafkajsDecode(buf: Buffer): Promise<KafkajsBatch> {
  return kafkaBatchDecoder(new KafkaDecoder(buf));
}
