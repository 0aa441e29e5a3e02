import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../errors';
import type { StorageEngine } from '../engine/storage-engine';
import type { GroupCoordinator } from '../coordinator/group/group-coordinator';
import { parseConsumerConfig, type ConsumerConfigInput } from './consumer-config';
import { ConsumerInstance } from './consumer-instance';
import { isCoordinatorError } from '../coordinator/group/coordinator-error';
import { fromCoordinatorError } from './coordinator-api-errors';

export interface ConsumerManagerOptions {
  /** consumer.instance.timeout.ms: an instance idle this long is closed (committing, leaving its group). */
  instanceTimeoutMs: number;
  /** Largest consumer.request.timeout.ms (and records `timeout`) accepted. */
  maxPollTimeoutMs: number;
  /** How long a group waits for its members to join again in a rebalance. Default 30000. */
  rebalanceTimeoutMs?: number;
  now?: () => number;
}

/**
 * The consumer instances of this process, by group and name (Confluent's instance ids), and their
 * expiry. An instance idle past consumer.instance.timeout.ms is closed as if deleted: it commits
 * its consumed positions (with auto-commit) and leaves, so its partitions move at once.
 *
 * The member's coordinator session is longer than the instance timeout by one sweep and a margin,
 * so that this expiry, which commits first, always comes before the coordinator's, which cannot.
 */
export class ConsumerManager {
  private readonly groups = new Map<string, Map<string, ConsumerInstance>>();
  private sweep: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;

  constructor(
    private readonly engine: StorageEngine,
    private readonly coordinator: GroupCoordinator,
    private readonly options: ConsumerManagerOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = Math.max(10, Math.min(1000, Math.floor(options.instanceTimeoutMs / 4)));
  }

  start(): void {
    if (this.sweep !== undefined) return;
    this.sweep = setInterval(() => void this.expireIdle(), this.sweepIntervalMs);
    this.sweep.unref();
  }

  create(groupId: string, name: string | undefined, input: ConsumerConfigInput): ConsumerInstance {
    if (this.closing) throw new ApiError('SHUTTING_DOWN', 'The server is shutting down');
    const config = parseConsumerConfig(input, this.options.maxPollTimeoutMs);
    const instanceName = name ?? `rest-consumer-${randomUUID()}`;
    let instances = this.groups.get(groupId);
    if (instances?.has(instanceName)) {
      throw new ApiError('CONSUMER_ALREADY_EXISTS', `Consumer instance with the specified name '${instanceName}' already exists in group '${groupId}'`);
    }
    const instance = new ConsumerInstance({
      groupId,
      name: instanceName,
      config,
      engine: this.engine,
      coordinator: this.coordinator,
      logger: this.logger,
      sessionTimeoutMs: this.options.instanceTimeoutMs + 2 * this.sweepIntervalMs + 10_000,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
      now: this.now,
    });
    if (instances === undefined) {
      instances = new Map();
      this.groups.set(groupId, instances);
    }
    instances.set(instanceName, instance);
    this.logger.debug({ group: groupId, consumer: instanceName }, 'consumer instance created');
    return instance;
  }

  get(groupId: string, name: string): ConsumerInstance {
    const instance = this.groups.get(groupId)?.get(name);
    if (instance === undefined || instance.isClosed) {
      throw new ApiError('CONSUMER_INSTANCE_NOT_FOUND', `Consumer instance '${name}' not found in group '${groupId}'`);
    }
    return instance;
  }

  /** Runs one request against an instance; the instance does not expire while it runs. Coordinator errors leave as client errors. */
  async use<T>(groupId: string, name: string, fn: (instance: ConsumerInstance) => Promise<T>): Promise<T> {
    const instance = this.get(groupId, name);
    const end = instance.begin();
    try {
      return await fn(instance);
    } catch (err) {
      throw isCoordinatorError(err) ? fromCoordinatorError(err) : err;
    } finally {
      end();
    }
  }

  async delete(groupId: string, name: string): Promise<void> {
    const instance = this.get(groupId, name);
    this.forget(instance);
    await instance.close();
  }

  /** Instances of a group in this process, e.g. to tell a group admin what is active. */
  instancesOf(groupId: string): ConsumerInstance[] {
    return [...(this.groups.get(groupId)?.values() ?? [])];
  }

  /** Closes every instance (each commits and leaves); new instances are refused from now on. */
  async closeAll(): Promise<void> {
    this.closing = true;
    if (this.sweep !== undefined) clearInterval(this.sweep);
    const all = [...this.groups.values()].flatMap((m) => [...m.values()]);
    this.groups.clear();
    await Promise.all(all.map((i) => i.close().catch((err: unknown) => this.logger.warn({ err, consumer: i.name }, 'closing a consumer instance failed'))));
  }

  /** Closes instances idle past the timeout; returns how many. */
  async expireIdle(): Promise<number> {
    const now = this.now();
    const expired = [...this.groups.values()].flatMap((m) => [...m.values()]).filter((i) => i.idleFor(now) > this.options.instanceTimeoutMs);
    for (const instance of expired) {
      this.forget(instance);
      this.logger.info({ group: instance.groupId, consumer: instance.name }, 'consumer instance expired');
    }
    await Promise.all(expired.map((i) => i.close().catch((err: unknown) => this.logger.warn({ err, consumer: i.name }, 'closing an expired consumer instance failed'))));
    return expired.length;
  }

  private forget(instance: ConsumerInstance): void {
    const instances = this.groups.get(instance.groupId);
    if (instances?.get(instance.name) !== instance) return;
    instances.delete(instance.name);
    if (instances.size === 0) this.groups.delete(instance.groupId);
  }
}
