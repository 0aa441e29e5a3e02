/**
 * What the SSE benchmark's server process did while a case ran, to explain slow produce answers:
 * each produce request's time inside the server (from its headers being parsed to its answer being
 * handed to the socket, matched to the producer's record by the `x-seq` header it sends), and the
 * process's GC pauses. Neither adds a timer or wakes the event loop, so the idle server the
 * producer meets at 100/s is measured as it is. Times are on the shared monotonic clock.
 *
 * SSE_BENCH_LOOP_DELAY=1 adds the event loop's delay histogram (monitorEventLoopDelay, 1 ms
 * resolution); its timer wakes the loop every millisecond, so the server is then never idle.
 */
import { readdirSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Server } from 'node:http';
import { PerformanceObserver, constants, monitorEventLoopDelay, performance, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import { nowMs } from './sse-clock';
import { procStatCpuSeconds } from './servers';
import { percentileOfSorted } from './stats';

export interface GcPause {
  start: number;
  duration: number;
  /** 'scavenge', 'mark-compact', 'incremental' or 'weak' */
  kind: string;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};

/**
 * CPU seconds of this process's threads (/proc/self/task/<tid>/stat, 100 ticks a second): the
 * event loop's thread (its tid is the pid) and the others together (the thread pool, V8's GC and
 * compiler helpers; all are named node, so they cannot be told apart by name).
 */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = tid === String(process.pid) ? 'event loop' : 'other threads';
      out.set(name, (out.get(name) ?? 0) + procStatCpuSeconds(`/proc/self/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function newSpaceSize(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? NaN;
}

const f = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(2));

export class ServerProbe {
  /**
   * Per request, by its x-seq: when the server had its headers and when its answer went to the
   * socket (NaN: not seen). Typed arrays sized for the case up front: the probe runs in the server's
   * process, and a Map of pairs growing by one per request would itself be old-space growth that
   * brings on the server's major GCs.
   */
  private readonly arrivedAt: Float64Array;
  private readonly answeredAt: Float64Array;
  /**
   * The event loop's cumulative active time (ms), sampled as each request arrives and is answered:
   * for a slow answer, how much of its wait before arriving the loop spent running callbacks (busy)
   * rather than waiting in the poll phase (idle, or the process not given a core once woken).
   */
  private readonly loopAt: Float64Array;
  private readonly loopActive: Float64Array;
  private loopSamples = 0;
  private readonly pauses: GcPause[] = [];
  private readonly observer: PerformanceObserver;
  private readonly cpuBefore = threadCpu();
  /** The young generation's size (both semi-spaces) as the case starts and ends: scavenges come as often as it is small. */
  private readonly newSpaceBefore = newSpaceSize();
  private newSpaceAfter = NaN;
  private cpuSpent = new Map<string, number>();
  private readonly loopDelay: IntervalHistogram | undefined = process.env.SSE_BENCH_LOOP_DELAY === '1' ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  /** performance.now()'s origin on the shared clock, to place GC entries beside request times. */
  private readonly origin = nowMs() - performance.now();
  private readonly onRequest = (req: { headers: Record<string, unknown> }, res: { once(e: 'finish', f: () => void): void }): void => {
    const seq = Number(req.headers['x-seq']);
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.arrivedAt.length) return;
    const arrived = nowMs();
    this.sampleLoop(arrived);
    this.arrivedAt[seq] = arrived;
    res.once('finish', () => {
      const answered = nowMs();
      this.sampleLoop(answered);
      this.answeredAt[seq] = answered;
    });
  };

  /** `requests`: how many produce requests the case sends (their x-seq runs from 0). */
  constructor(
    private readonly server: Server,
    requests: number,
  ) {
    this.arrivedAt = new Float64Array(requests).fill(NaN);
    this.answeredAt = new Float64Array(requests).fill(NaN);
    this.loopAt = new Float64Array(2 * requests);
    this.loopActive = new Float64Array(2 * requests);
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
        this.pauses.push({ start: this.origin + e.startTime, duration: e.duration, kind: GC_KINDS[e.detail?.kind ?? 0] ?? 'other' });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    server.prependListener('request', this.onRequest);
    this.loopDelay?.enable();
  }

  private sampleLoop(at: number): void {
    if (this.loopSamples === this.loopAt.length) return;
    this.loopAt[this.loopSamples] = at;
    this.loopActive[this.loopSamples++] = performance.eventLoopUtilization().active;
  }

  /** The loop's active ms between two times, from the nearest samples at or before each. */
  private activeBetween(from: number, to: number): number {
    const at = (t: number): number => {
      let lo = 0;
      let hi = this.loopSamples - 1;
      if (hi < 0 || this.loopAt[0] > t) return hi < 0 ? 0 : this.loopActive[0];
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.loopAt[mid] <= t) lo = mid;
        else hi = mid - 1;
      }
      return this.loopActive[lo];
    };
    return at(to) - at(from);
  }

  stop(): void {
    this.newSpaceAfter = newSpaceSize();
    for (const [name, seconds] of threadCpu()) this.cpuSpent.set(name, seconds - (this.cpuBefore.get(name) ?? 0));
    this.loopDelay?.disable();
    this.observer.disconnect();
    this.server.removeListener('request', this.onRequest);
  }

  /**
   * One line: the produce answers' time inside the server, the GC pauses, and for the slowest 1%
   * of round trips how much of each was inside the server and how many overlapped a GC pause.
   */
  summary(sendTimes: number[], ackTimes: number[]): string {
    const insideMs: number[] = [];
    for (let seq = 0; seq < this.arrivedAt.length; seq++) {
      const ms = this.answeredAt[seq] - this.arrivedAt[seq];
      if (!Number.isNaN(ms)) insideMs.push(ms);
    }
    insideMs.sort((x, y) => x - y);
    const scavenges = this.pauses.filter((p) => p.kind === 'scavenge').map((p) => p.duration).sort((a, b) => a - b);
    const others = this.pauses.filter((p) => p.kind !== 'scavenge');
    const order = ackTimes.map((_, i) => i).filter((i) => !Number.isNaN(ackTimes[i])).sort((a, b) => ackTimes[b] - ackTimes[a]);
    const slow = order.slice(0, Math.max(1, Math.ceil(order.length / 100)));
    let withGc = 0;
    const slowInside: number[] = [];
    const slowBefore: number[] = [];
    const slowActive: number[] = [];
    for (const seq of slow) {
      const from = sendTimes[seq];
      const to = from + ackTimes[seq];
      if (this.pauses.some((p) => p.start < to && p.start + p.duration > from)) withGc++;
      const arrived = this.arrivedAt[seq];
      const answered = this.answeredAt[seq];
      if (!Number.isNaN(arrived) && !Number.isNaN(answered)) {
        slowInside.push(answered - arrived);
        slowBefore.push(arrived - from);
        slowActive.push(this.activeBetween(from, arrived));
      }
    }
    slowInside.sort((a, b) => a - b);
    slowBefore.sort((a, b) => a - b);
    slowActive.sort((a, b) => a - b);
    return (
      `  server: answer inside the server p50 ${f(percentileOfSorted(insideMs, 50))} p99 ${f(percentileOfSorted(insideMs, 99))} ms; ` +
      `GC scavenges ${scavenges.length} (young generation ${(this.newSpaceBefore / 1048576).toFixed(0)} -> ${(this.newSpaceAfter / 1048576).toFixed(0)} MB; p50 ${f(percentileOfSorted(scavenges, 50))} max ${f(scavenges[scavenges.length - 1] ?? NaN)} ms), ` +
      `other GC ${others.length} (max ${f(Math.max(0, ...others.map((p) => p.duration)))} ms); ` +
      `slowest 1% of answers (${slow.length}, from ${f(ackTimes[slow[slow.length - 1]])} ms): ` +
      `send -> server has it p50 ${f(percentileOfSorted(slowBefore, 50))} (loop busy in it p50 ${f(percentileOfSorted(slowActive, 50))}), inside p50 ${f(percentileOfSorted(slowInside, 50))} ms, overlapping a GC pause ${withGc}; ` +
      `cpu by thread: ${[...this.cpuSpent].filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}` +
      (this.loopDelay === undefined
        ? ''
        : `; event loop delay p50 ${f(this.loopDelay.percentile(50) / 1e6)} p99 ${f(this.loopDelay.percentile(99) / 1e6)} max ${f(this.loopDelay.max / 1e6)} ms`)
    );
  }
}
