/**
 * Process-wide run state. Shutdown begins before the server closes: readiness turns DOWN at once,
 * and `shutdownSignal` aborts, so long-polls answer with what they have instead of holding the
 * close back until their timeout.
 */
export class Lifecycle {
  private readonly shutdown = new AbortController();
  readonly startedAt = Date.now();

  get shuttingDown(): boolean {
    return this.shutdown.signal.aborted;
  }

  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  beginShutdown(): void {
    this.shutdown.abort();
  }
}
