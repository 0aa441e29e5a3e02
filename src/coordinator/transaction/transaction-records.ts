import type { ProducerRecord } from '../../engine/storage-engine';
import type { TransactionMetadata } from './transaction-metadata';

/**
 * The transaction coordinator's state as records of the `__transaction_state` partitions, rebuilt by
 * replay at start (the last record of a transactional id wins; a null value deletes it).
 *
 *   key:   int16 version (0), string transactionalId (int16 length, UTF-8), as Kafka's TransactionLogKey
 *   value: UTF-8 JSON {"version": 1, ...TransactionMetadata}. JSON, unlike Kafka's binary value: it
 *          carries the pending offsets and the answer of a keyed commit, and stays easy to evolve.
 *
 * Keys or values of an unknown version are skipped on replay.
 */
export const TRANSACTION_STATE_TOPIC = '__transaction_state';
const KEY_VERSION = 0;
const VALUE_VERSION = 1;

export function encodeTransactionRecord(transactionalId: string, meta: TransactionMetadata | null, timestamp: number): ProducerRecord & { key: Buffer; value: Buffer | null; timestamp: number } {
  const id = Buffer.from(transactionalId, 'utf8');
  const key = Buffer.alloc(4 + id.length);
  key.writeInt16BE(KEY_VERSION, 0);
  key.writeInt16BE(id.length, 2);
  id.copy(key, 4);
  const value = meta === null ? null : Buffer.from(JSON.stringify({ version: VALUE_VERSION, ...meta }), 'utf8');
  return { key, value, timestamp };
}

export function decodeTransactionRecord(key: Buffer | null, value: Buffer | null): { transactionalId: string; meta: TransactionMetadata | null } | undefined {
  if (key === null || key.length < 4 || key.readInt16BE(0) !== KEY_VERSION) return undefined;
  const length = key.readInt16BE(2);
  if (length < 0 || 4 + length > key.length) return undefined;
  const transactionalId = key.toString('utf8', 4, 4 + length);
  if (value === null) return { transactionalId, meta: null };
  let parsed: { version?: unknown } & TransactionMetadata;
  try {
    parsed = JSON.parse(value.toString('utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed.version !== VALUE_VERSION) return undefined;
  const { version: _version, ...meta } = parsed;
  return { transactionalId, meta };
}
