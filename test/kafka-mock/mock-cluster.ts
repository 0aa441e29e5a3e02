import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Drives the Kafka-protocol test cluster (test/kafka-mock/mock-cluster.c) as a child process.
 * Commands are written one per line to its stdin and each gets exactly one answer line, in order;
 * `pending` holds the waiters for those answers in the same order.
 */
const ROOT = join(__dirname, '..', '..', '..');
const BUILD_SCRIPT = join(ROOT, 'test', 'kafka-mock', 'build.sh');
export const MOCK_CLUSTER_BINARY = join(ROOT, 'dist', 'kafka-mock', 'mock-cluster');

const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;

/** Builds the launcher (idempotent); throws with the build script's message when it cannot. */
export function buildMockCluster(): string {
  const result = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8' });
  if (result.status !== 0 || !existsSync(MOCK_CLUSTER_BINARY)) {
    throw new Error(`cannot build the mock Kafka cluster: ${(result.stderr || result.stdout || String(result.error)).trim()}`);
  }
  return MOCK_CLUSTER_BINARY;
}

interface Waiter {
  resolve(line: string): void;
  reject(err: Error): void;
}

export class MockCluster {
  private readonly pending: Waiter[] = [];
  private readonly stderr: string[] = [];
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly bootstrap: string,
    lines: AsyncIterator<string>,
  ) {
    this.exitPromise = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      this.exited = true;
      for (const waiter of this.pending.splice(0)) waiter.reject(new Error(`mock cluster exited; stderr: ${this.stderrTail()}`));
    });
    void this.readAnswers(lines);
  }

  /** Starts a cluster of `brokers` brokers on 127.0.0.1 (ids 1..brokers), building it first. */
  static async start(brokers = 1): Promise<MockCluster> {
    const binary = buildMockCluster();
    const child = spawn(binary, [String(brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => stderr.push(chunk));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await withTimeout(lines.next(), START_TIMEOUT_MS, () => `mock cluster did not print its bootstrap list; stderr: ${stderr.join('')}`).catch((err) => {
      child.kill('SIGKILL');
      throw err;
    });
    if (first.done || !/^[\d.]+:\d+(,[\d.]+:\d+)*$/.test(first.value)) {
      child.kill('SIGKILL');
      throw new Error(`mock cluster printed no bootstrap list (got ${JSON.stringify(first.value)}); stderr: ${stderr.join('')}`);
    }
    const cluster = new MockCluster(child, first.value, lines);
    child.stderr.removeAllListeners('data');
    child.stderr.on('data', (chunk: string) => cluster.pushStderr(chunk));
    cluster.stderr.push(...stderr);
    return cluster;
  }

  get brokers(): string[] {
    return this.bootstrap.split(',');
  }

  createTopic(name: string, partitions: number, replicationFactor = 1): Promise<void> {
    return this.command(`topic ${name} ${partitions} ${replicationFactor}`);
  }

  /** Disconnects a broker (-1: all) and refuses new connections until brokerUp. */
  brokerDown(id: number): Promise<void> {
    return this.command(`broker-down ${id}`);
  }

  brokerUp(id: number): Promise<void> {
    return this.command(`broker-up ${id}`);
  }

  setRtt(brokerId: number, ms: number): Promise<void> {
    return this.command(`rtt ${brokerId} ${ms}`);
  }

  setLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    return this.command(`leader ${topic} ${partition} ${brokerId}`);
  }

  /** The next `count` requests with this API key fail with `error` (a name such as NOT_LEADER_FOR_PARTITION, or a code). */
  pushRequestErrors(apiKey: number, error: string | number, count = 1): Promise<void> {
    return this.command(`request-errors ${apiKey} ${error} ${count}`);
  }

  /**
   * The next request of `apiKey` to broker `id` is answered with `error` after `rttMs`. With error 0
   * the request is served (a Produce is appended) and only its answer is late: a lost answer.
   */
  brokerError(id: number, apiKey: number, error: string | number, rttMs: number): Promise<void> {
    return this.command(`broker-error ${id} ${apiKey} ${error} ${rttMs}`);
  }

  setTopicError(topic: string, error: string | number): Promise<void> {
    return this.command(`topic-error ${topic} ${error}`);
  }

  clearRequestErrors(apiKey: number): Promise<void> {
    return this.command(`clear-errors ${apiKey}`);
  }

  ping(): Promise<void> {
    return this.command('ping');
  }

  /** Closes stdin, which stops the cluster; SIGKILL if it has not exited in time. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), START_TIMEOUT_MS);
    await this.exitPromise;
    clearTimeout(timer);
  }

  stderrTail(): string {
    return this.stderr.join('').slice(-2000);
  }

  private pushStderr(chunk: string): void {
    this.stderr.push(chunk);
    if (this.stderr.length > 200) this.stderr.splice(0, 100);
  }

  private async command(line: string): Promise<void> {
    if (this.exited) throw new Error(`mock cluster has exited; cannot run '${line}'`);
    const answer = new Promise<string>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.child.stdin.write(`${line}\n`);
    const result = await withTimeout(answer, COMMAND_TIMEOUT_MS, () => `mock cluster did not answer '${line}'`);
    if (result !== 'ok') throw new Error(`mock cluster: '${line}' failed: ${result}`);
  }

  private async readAnswers(lines: AsyncIterator<string>): Promise<void> {
    for (;;) {
      const next = await lines.next().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      this.pending.shift()?.resolve(next.value);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
