import { randomBytes } from 'node:crypto';
import { ApiError } from '../errors';
import type { ProduceOutcome } from './produce-service';

export type ReceiptStatus = 'pending' | 'succeeded' | 'failed';

/** The answer to an async produce, as `send()`'s future: pending until the appends end. */
export interface Receipt {
  id: string;
  status: ReceiptStatus;
  outcomes?: ProduceOutcome[];
  /** The failure, as the produce would have thrown it. */
  error?: unknown;
}

interface Held extends Receipt {
  waiters: (() => void)[];
  expiresAt: number;
}

export interface ReceiptStoreOptions {
  /** How long a receipt is kept after its outcome is known, ms. */
  ttlMs: number;
  /** Most receipts held; past it the oldest finished ones go early, and when none has finished new async requests are refused. */
  maxReceipts: number;
  now?: () => number;
}

/**
 * Receipts of async produce requests (`Prefer: respond-async`), in memory: they do not survive a
 * restart (a keyed request's receipt is rebuilt from its Idempotency-Key instead). Bounded in
 * count; a finished receipt expires `ttlMs` after it finished. Finished receipts expire in the order
 * they finished, so one queue and one timer for its head cover them all.
 */
export class ReceiptStore {
  private readonly receipts = new Map<string, Held>();
  /** Finished receipts, in finishing (so expiry) order. */
  private readonly finished: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: ReceiptStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.receipts.size;
  }

  /** Refuses (42901) when the store is full of pending receipts: call before sending. */
  assertRoom(): void {
    this.evictFinished(this.options.maxReceipts - 1);
    if (this.receipts.size >= this.options.maxReceipts) {
      throw new ApiError('RATE_LIMITED', `${this.receipts.size} async produce requests are still pending; retry later`);
    }
  }

  /** A receipt that follows `done`; `id` is given for keyed requests (kept if already present). */
  track(done: Promise<ProduceOutcome[]>, id: string = randomBytes(16).toString('hex')): string {
    if (this.receipts.has(id)) return id;
    const held: Held = { id, status: 'pending', waiters: [], expiresAt: Number.MAX_SAFE_INTEGER };
    this.receipts.set(id, held);
    done.then(
      (outcomes) => this.finish(held, 'succeeded', outcomes, undefined),
      (err: unknown) => this.finish(held, 'failed', undefined, err),
    );
    return id;
  }

  /** A receipt whose outcome is already known (a keyed request answered before a restart). */
  record(id: string, outcomes: ProduceOutcome[]): void {
    if (this.receipts.has(id)) return;
    const held: Held = { id, status: 'pending', waiters: [], expiresAt: Number.MAX_SAFE_INTEGER };
    this.receipts.set(id, held);
    this.finish(held, 'succeeded', outcomes, undefined);
  }

  get(id: string): Receipt | undefined {
    const held = this.receipts.get(id);
    return held === undefined ? undefined : view(held);
  }

  /** The receipt once finished, or as it is after `timeoutMs`, or when `signal` aborts. */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Receipt | undefined> {
    const held = this.receipts.get(id);
    if (held === undefined || held.status !== 'pending' || timeoutMs <= 0 || signal?.aborted) return held && view(held);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const i = held.waiters.indexOf(done);
        if (i >= 0) held.waiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      held.waiters.push(done);
    });
    return view(held);
  }

  private finish(held: Held, status: ReceiptStatus, outcomes: ProduceOutcome[] | undefined, error: unknown): void {
    held.status = status;
    held.outcomes = outcomes;
    held.error = error;
    held.expiresAt = this.now() + this.options.ttlMs;
    for (const wake of held.waiters.splice(0)) wake();
    if (this.receipts.get(held.id) !== held) return;
    this.finished.push(held);
    if (this.timer === undefined && !this.closed) this.schedule();
  }

  private schedule(): void {
    const head = this.finished[0];
    if (head === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
      this.schedule();
    }, Math.max(0, head.expiresAt - this.now()) + 1);
    this.timer.unref();
  }

  private expire(): void {
    const now = this.now();
    let n = 0;
    while (n < this.finished.length && this.finished[n].expiresAt <= now) this.receipts.delete(this.finished[n++].id);
    this.finished.splice(0, n);
  }

  private evictFinished(target: number): void {
    let n = 0;
    while (this.receipts.size > target && n < this.finished.length) this.receipts.delete(this.finished[n++].id);
    this.finished.splice(0, n);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function view(held: Held): Receipt {
  return { id: held.id, status: held.status, outcomes: held.outcomes, error: held.error };
}
