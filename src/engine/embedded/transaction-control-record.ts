import { encodeRecordBatch, type RecordInput } from './codec/record-batch';

/**
 * Kafka's control record (EndTransactionMarker), the single record of a control batch that ends a
 * producer's transaction on a partition:
 *
 *   key:   int16 version (0), int16 type (0 = ABORT, 1 = COMMIT)
 *   value: int16 version (0), int32 coordinatorEpoch
 *
 * The batch around it has the transactional and control attribute bits set and carries the
 * producer id and epoch; its base sequence is -1.
 */
export const CONTROL_RECORD_VERSION = 0;
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

export function controlRecord(commit: boolean, coordinatorEpoch: number, timestamp: number): RecordInput {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return { key, value, timestamp };
}

/** The control type of a control record's key: 'commit', 'abort', or undefined for a type this code does not know. */
export function controlType(key: Buffer | null): 'commit' | 'abort' | undefined {
  if (key === null || key.length < 4) return undefined;
  const type = key.readInt16BE(2);
  if (type === CONTROL_TYPE_COMMIT) return 'commit';
  if (type === CONTROL_TYPE_ABORT) return 'abort';
  return undefined;
}

/** The whole control batch: one control record, transactional and control bits set, base sequence -1. */
export function encodeControlBatch(m: {
  baseOffset: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
}): Buffer {
  return encodeRecordBatch([controlRecord(m.commit, m.coordinatorEpoch, m.timestamp)], {
    baseOffset: m.baseOffset,
    timestampType: m.timestampType,
    logAppendTime: m.timestamp,
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
  });
}
