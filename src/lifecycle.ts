/** Process-wide run state: readiness turns DOWN as soon as shutdown begins. */
export class Lifecycle {
  private stopping = false;
  readonly startedAt = Date.now();

  get shuttingDown(): boolean {
    return this.stopping;
  }

  beginShutdown(): void {
    this.stopping = true;
  }
}
