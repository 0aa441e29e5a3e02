import { hash } from 'node:crypto';
import { CALLER_PRODUCER_ID_BASE } from '../../engine/storage-engine';

/** Bits of SHA-256(key) in a keyed producer id: the most that keeps base + bits a safe integer. */
export const KEYED_PRODUCER_ID_BITS = 52;

/**
 * The producer id of an Idempotency-Key: CALLER_PRODUCER_ID_BASE (2^52) plus the first 52 bits of
 * SHA-256 of the key, so from 2^52 to 2^53 - 1. A keyed request sends every batch as this producer,
 * epoch 0, base sequence 0 on each partition it writes: its retry (also after a crash, also when
 * the key journal lost the key) sends the same batches, and the engine answers those already in the
 * log with their first offsets and appends the rest. Every engine must derive it the same way,
 * which is why this is the one place it is computed.
 *
 * Two keys with the same id would be taken for one request. Among n keys of one window the chance
 * of any pair is about n^2 / 2^53 (200,000 keys: 4e-6); the key table detects it for the keys it
 * holds (IdempotencyKeyStore.claimProducerId) and sends the later key under an allocated id instead.
 */
export function keyedProducerId(key: string, digest = keyDigest(key)): number {
  // The first 6.5 bytes, big-endian: 32 bits, then 20 (both products stay exact in a double).
  const high = ((digest.charCodeAt(0) << 24) | (digest.charCodeAt(1) << 16) | (digest.charCodeAt(2) << 8) | digest.charCodeAt(3)) >>> 0;
  const low = (digest.charCodeAt(4) << 12) | (digest.charCodeAt(5) << 4) | (digest.charCodeAt(6) >>> 4);
  return CALLER_PRODUCER_ID_BASE + high * 2 ** 20 + low;
}

/**
 * SHA-256 of an Idempotency-Key, its 32 bytes as a latin1 string (one char per byte: cheaper to get
 * than hex or a Buffer, and read by char code). The key's producer id and its receipt id
 * (keyedReceiptId) are both taken from it: a request that needs both hashes its key once and hands
 * the digest to each.
 */
export function keyDigest(key: string): string {
  return hash('sha256', key, 'binary'); // 'binary' is latin1
}

/** True for an id a caller derived (never one allocateProducerIds handed out). */
export function isKeyedProducerId(producerId: number): boolean {
  return producerId >= CALLER_PRODUCER_ID_BASE;
}
