/** Semi-space size (MB) below which Basket's start commands do not let V8 shrink the young generation. */
export const MIN_SEMI_SPACE_MB = 16;

/**
 * The node flags Basket is started with (`npm start`, the Dockerfile's CMD, the benchmarks). V8
 * sizes the young generation by how much survives its scavenges; a gateway's objects mostly die with
 * their request, so after start-up it shrinks it again (to 4-8 MB in the SSE benchmark's server), and
 * at a steady load the scavenges come often: a request that arrives during one waits, and objects
 * alive at two of them are promoted, bringing on major GCs. With semi-spaces of at least 16 MB, at
 * 1,000 produce requests a second with an event stream open, the server scavenged 20 times in 10 s
 * instead of 53 and ran no major GC instead of two (bench/RESULTS.md, SSE), for about 30 MB more
 * memory.
 */
export const BASKET_NODE_FLAGS: readonly string[] = [`--min-semi-space-size=${MIN_SEMI_SPACE_MB}`];

/** True when node was started with BASKET_NODE_FLAGS on its command line (V8 has no API to read them back). */
export function startedWithBasketFlags(): boolean {
  return BASKET_NODE_FLAGS.every((flag) => process.execArgv.includes(flag));
}
