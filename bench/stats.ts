/** How the benchmarks summarize samples: the median of rounds, and nearest-rank percentiles of latencies. */

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p`th percentile (0-100) of samples already in ascending order: the value at rank floor(p% of n); NaN for none. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The `p`th percentile (0-100) of samples in any order; the samples are left as they are. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted([...samples].sort((a, b) => a - b), p);
}

/**
 * A bootstrap interval of the median (percentile method): the median of `resamples` resamples of
 * the values, drawn with replacement, and the `confidence` middle share of those medians. The draws
 * come from a fixed-seed generator, so the same values always print the same interval. On a noisy
 * machine it says how far one run's median of rounds can be from what more rounds would give.
 */
export function medianInterval(values: readonly number[], confidence = 0.95, resamples = 2000): [number, number] {
  let seed = 0x9e3779b9;
  const random = (): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const medians: number[] = [];
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(random() * values.length)];
    medians.push(median(sample));
  }
  medians.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return [percentileOfSorted(medians, 100 * tail), percentileOfSorted(medians, 100 * (1 - tail))];
}
