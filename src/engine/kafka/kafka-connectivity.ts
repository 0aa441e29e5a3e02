import type { Logger } from 'pino';
import { EngineError } from '../engine-error';
import type { EngineHealth } from '../storage-engine';
import { toEngineError } from './kafka-error-mapping';

/**
 * Whether the cluster is reachable, as readiness sees it. States: STARTING (before the first probe
 * ends), UP, DOWN (with the reason), CLOSED. While DOWN a background loop probes again with
 * doubling backoff; calls made meanwhile fail at once with a retriable BROKER_NOT_AVAILABLE rather
 * than each waiting out kafkajs's retries. A call that fails for want of a broker while UP asks for
 * a probe, so one lost broker does not mark the cluster DOWN while the others answer.
 */
type State = 'STARTING' | 'UP' | 'DOWN' | 'CLOSED';

const CONNECTIVITY_CODES = new Set(['BROKER_NOT_AVAILABLE', 'REQUEST_TIMED_OUT']);

export class KafkaConnectivity {
  private state: State = 'STARTING';
  private reason: EngineError | undefined;
  private since = Date.now();
  private probing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private attempts = 0;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly logger: Logger,
    private readonly backoff: { initialMs: number; maxMs: number },
    private readonly brokers: string[],
  ) {
    this.backoffMs = backoff.initialMs;
  }

  /** Runs the first probe; resolves whether or not it succeeded (the loop goes on in the background). */
  async start(): Promise<void> {
    await this.runProbe();
  }

  close(): void {
    this.state = 'CLOSED';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isUp(): boolean {
    return this.state === 'UP';
  }

  /** Throws the retriable error a caller should see while the cluster is not reachable. */
  assertUp(): void {
    if (this.state === 'UP') return;
    if (this.state === 'CLOSED') throw new EngineError('ENGINE_CLOSED', 'The kafka engine is closed');
    const why = this.reason === undefined ? 'not connected yet' : this.reason.message;
    throw new EngineError('BROKER_NOT_AVAILABLE', `Kafka cluster unreachable (${this.brokers.join(',')}): ${why}`, {
      retriable: true,
      cause: this.reason,
    });
  }

  /** Called with every error a call saw; connectivity errors trigger a probe. */
  reportFailure(err: EngineError): void {
    if (this.state !== 'UP' || !CONNECTIVITY_CODES.has(err.code)) return;
    void this.runProbe();
  }

  health(): EngineHealth {
    const details: Record<string, unknown> = { brokers: this.brokers, since: new Date(this.since).toISOString() };
    if (this.state !== 'UP' && this.reason !== undefined) {
      details.error = this.reason.message;
      details.code = this.reason.code;
    }
    if (this.state !== 'UP') details.state = this.state;
    if (this.state === 'DOWN') details.attempts = this.attempts;
    return { status: this.state === 'UP' ? 'UP' : 'DOWN', details };
  }

  private runProbe(): Promise<boolean> {
    this.probing ??= this.probeOnce().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probeOnce(): Promise<boolean> {
    try {
      await this.probe();
      if (this.state === 'CLOSED') return false;
      if (this.state !== 'UP') this.logger.info({ brokers: this.brokers, attempts: this.attempts + 1 }, 'Kafka cluster reachable');
      this.transition('UP', undefined);
      this.backoffMs = this.backoff.initialMs;
      this.attempts = 0;
      return true;
    } catch (err) {
      if (this.state === 'CLOSED') return false;
      const error = toEngineError(err, 'connect');
      this.attempts++;
      if (this.state !== 'DOWN' || this.attempts === 1) {
        this.logger.error({ brokers: this.brokers, err: error, retryInMs: this.backoffMs }, `Kafka cluster unreachable: ${error.message}`);
      } else {
        this.logger.warn({ attempts: this.attempts, retryInMs: this.backoffMs }, `Kafka cluster still unreachable: ${error.message}`);
      }
      this.transition('DOWN', error);
      this.schedule();
      return false;
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.state === 'CLOSED') return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.maxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runProbe();
    }, delay);
    this.timer.unref();
  }

  private transition(state: State, reason: EngineError | undefined): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.reason = reason;
  }
}
