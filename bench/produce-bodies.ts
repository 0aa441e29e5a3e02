/**
 * What the produce benchmarks send and how they summarize rounds: the same ~100-byte JSON value
 * (94 bytes of text), one record per request or 1,000, and the median of a case's rounds.
 */
export function record(i: number): { value: unknown } {
  return { value: { id: i, user: `user-${i % 1000}`, item: 'free-range-eggs', qty: 12, note: 'deliver before noon please' } };
}

/** A v2 json produce body of one record. */
export const SINGLE_BODY = JSON.stringify({ records: [record(1)] });
/** A v2 json produce body of 1,000 records. */
export const BATCH_BODY = JSON.stringify({ records: Array.from({ length: 1000 }, (_, i) => record(i)) });

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
