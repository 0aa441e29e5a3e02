/** Someone waiting for an fsync that covers what was written before they asked. */
export interface SyncWaiter {
  done(): void;
  fail(err: unknown): void;
}

/**
 * Group commit: one sync serves every waiter present when it starts; waiters that arrive while it
 * runs wait for the next one, which starts as soon as the current one ends. So with N concurrent
 * acks=all producers there are about N / (appends per fsync time) fsyncs, never one each.
 *
 * Invariant: a waiter is resolved only by a sync that started after it was added.
 */
export class GroupCommit {
  private waiting: SyncWaiter[] = [];
  private running = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly sync: () => Promise<void>,
    /** Called once with the error of a failed sync; later waiters are failed with it too. */
    private readonly onFailure: (err: unknown) => void,
  ) {}

  add(waiter: SyncWaiter): void {
    this.waiting.push(waiter);
    if (!this.running) void this.run();
  }

  /** A sync nobody waits for (a rolled segment, a periodic flush). */
  request(): void {
    this.add(NO_WAITER);
  }

  /** Resolves when no sync is running or waiting. */
  whenIdle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Fails every waiter (the partition went offline or closed). */
  failAll(err: unknown): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(err);
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        await this.sync();
      } catch (err) {
        for (const w of group) w.fail(err);
        this.onFailure(err);
        this.failAll(err);
        break;
      }
      for (const w of group) w.done();
    }
    this.running = false;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}

const NO_WAITER: SyncWaiter = { done() {}, fail() {} };
