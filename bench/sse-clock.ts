/**
 * Milliseconds on the machine's monotonic clock (hrtime reads CLOCK_MONOTONIC): unlike
 * performance.now(), whose origin is each process's start, it is one clock for every process of
 * the SSE benchmark, so a send time taken in the producer's process and a receive time taken in
 * the subscribers' process can be subtracted.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
