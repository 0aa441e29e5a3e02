import { createHash, hash } from 'node:crypto';
import { ApiError } from '../../errors';

/** Longest Idempotency-Key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const VISIBLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The Idempotency-Key header's value: a plain token, or a structured-field string ("...", as the
 * IETF draft writes it) whose quotes are removed. 1 to 255 visible ASCII characters; undefined
 * when the header is absent.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new ApiError('INVALID_REQUEST', 'Send one Idempotency-Key header, not several');
  let key = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1).replace(/\\(["\\])/g, '$1');
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !VISIBLE_ASCII.test(key)) {
    throw new ApiError('INVALID_REQUEST', `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`);
  }
  return key;
}

/**
 * What makes two requests "the same" for a key: the method, the path (the query, such as acks or
 * async, is left out: it changes how the answer comes, not what is written), the content type's
 * media type, and the body bytes. SHA-256, its 32 bytes as a latin1 string (one char per byte:
 * cheaper to get, store and compare than hex; the key journal and the key table keep those bytes).
 */
export function requestFingerprint(method: string, path: string, contentType: string | undefined, body: string): string {
  const head = headOf(method, path, contentType);
  // One call for small bodies (the common case); no copy of a large one into a joined string.
  if (body.length < 4096) return hash('sha256', head + body, 'binary');
  return createHash('sha256').update(head).update(body, 'utf8').digest('binary');
}

/** The last head built, by what it was built from: a client's requests repeat them, their bodies differ. */
let last = { method: '', path: '', contentType: undefined as string | undefined, head: '' };

/** `METHOD path\nmedia type\n`, what the fingerprint hashes before the body. */
function headOf(method: string, path: string, contentType: string | undefined): string {
  if (method === last.method && path === last.path && contentType === last.contentType) return last.head;
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  last = { method, path, contentType, head: `${method.toUpperCase()} ${path}\n${mediaType}\n` };
  return last.head;
}
