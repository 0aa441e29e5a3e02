/**
 * What the produce benchmarks send: the same ~100-byte JSON value (94 bytes of text), one record
 * per request or 1,000.
 */
export function record(i: number): { value: unknown } {
  return { value: { id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' } };
}

/** A v2 json produce body of one record. */
export const SINGLE_BODY = JSON.stringify({ records: [record(1)] });
/** A v2 json produce body of 1,000 records. */
export const BATCH_BODY = JSON.stringify({ records: Array.from({ length: 1000 }, (_, i) => record(i)) });
