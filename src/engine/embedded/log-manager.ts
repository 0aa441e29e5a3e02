import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { EngineError } from '../engine-error';
import { effectiveTopicConfigs } from '../topic-config';
import { FileOps } from './file-ops';
import { LogConfig, logConfigFrom } from './log-config';
import {
  CLEAN_SHUTDOWN_FILE,
  DELETE_DIR_SUFFIX,
  deleteDirName,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  METADATA_DIR,
  parsePartitionDirName,
  partitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
} from './log-file-names';
import { loadPartitionLog, LoadStats } from './log-loader';
import { applyConfigChanges, MetadataLog, TopicMetadata } from './metadata-log';
import { OffsetCheckpointFile, PartitionOffset, syncDirectory } from './offset-checkpoint-file';
import { readPartitionMetadata, writePartitionMetadata } from './partition-metadata-file';
import { PartitionLog } from './partition-log';

export interface LogManagerOptions {
  dataDir: string;
  ops: FileOps;
  now: () => number;
  logger: Logger;
  /** Broker-level topic config defaults (Kafka's log.* settings), under each topic's own. */
  topicDefaults: Record<string, string>;
  retentionCheckIntervalMs: number;
  recoveryPointCheckpointIntervalMs: number;
  /** The Idempotency-Key window, for producer ids callers derive from keys (see ProducerStateManager). */
  callerProducerIdExpirationMs?: number;
}

/** A topic as the log manager holds it: its metadata and one open log per partition. */
export interface TopicLogs {
  meta: TopicMetadata;
  effectiveConfigs: Record<string, string>;
  logs: PartitionLog[];
}

const LOAD_CONCURRENCY = 8;

/**
 * Kafka's LogManager: every partition log under the data directory (`<topic>-<partition>/`), the
 * metadata log that says which topics exist, the checkpoints, the clean-shutdown marker and the
 * retention timer.
 *
 * Admin changes (create, grow, alter, delete) run one at a time, each fsynced to the metadata log
 * before it takes effect. A deleted topic's directories are renamed to `*.<topicId>-delete` at once
 * and removed in the background; a directory whose partition.metadata names another topic id (a
 * crash between a delete and its rename) is treated the same way at start-up.
 */
export class LogManager {
  private readonly topics = new Map<string, TopicLogs>();
  private metadataLog: MetadataLog | undefined;
  private readonly recoveryPoints: OffsetCheckpointFile;
  private readonly logStartOffsets: OffsetCheckpointFile;
  private adminChain: Promise<unknown> = Promise.resolve();
  private checkpointChain: Promise<unknown> = Promise.resolve();
  private readonly background = new Set<Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];
  private retentionRunning: Promise<void> | undefined;

  constructor(private readonly options: LogManagerOptions) {
    this.recoveryPoints = new OffsetCheckpointFile(path.join(options.dataDir, RECOVERY_POINT_CHECKPOINT_FILE));
    this.logStartOffsets = new OffsetCheckpointFile(path.join(options.dataDir, LOG_START_OFFSET_CHECKPOINT_FILE));
  }

  private get logger(): Logger {
    return this.options.logger;
  }

  /** Loads metadata and every partition log, then removes the clean-shutdown marker. */
  async start(): Promise<void> {
    const started = Date.now();
    const { dataDir } = this.options;
    await fsp.mkdir(dataDir, { recursive: true });
    const marker = path.join(dataDir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = await exists(marker);
    const recoveryPoints = await this.readCheckpoint(this.recoveryPoints);
    const logStartOffsets = await this.readCheckpoint(this.logStartOffsets);
    const { metadataLog, topics } = await MetadataLog.open(dataDir, this.options.ops, this.options.now, this.logger);
    this.metadataLog = metadataLog;

    const totals: LoadStats = { segments: 0, segmentsRecovered: 0, bytesRead: 0, truncatedBytes: 0, segmentsDeleted: 0 };
    const jobs: { meta: TopicMetadata; partition: number }[] = [];
    for (const meta of topics.values()) {
      this.topics.set(meta.name, { meta, effectiveConfigs: this.effectiveConfigs(meta.configs), logs: [] });
      for (let p = 0; p < meta.partitions; p++) jobs.push({ meta, partition: p });
    }
    await forEachLimit(jobs, LOAD_CONCURRENCY, async ({ meta, partition }) => {
      const key = partitionDirName(meta.name, partition);
      const { log, stats } = await this.openLog(meta, this.logConfigOf(meta.name), partition, {
        cleanShutdown,
        recoveryPoint: recoveryPoints.get(key) ?? 0,
        logStartOffset: logStartOffsets.get(key) ?? 0,
      });
      this.topics.get(meta.name)!.logs[partition] = log;
      for (const k of Object.keys(totals) as (keyof LoadStats)[]) totals[k] += stats[k];
    });
    await this.removeStrayDirectories();
    if (cleanShutdown) {
      await fsp.rm(marker, { force: true });
      await syncDirectory(dataDir);
    }
    this.startTimers();
    this.logger.info(
      { dataDir, cleanShutdown, topics: this.topics.size, partitions: jobs.length, ...totals, ms: Date.now() - started },
      jobs.length === 0 ? 'no partition logs to load' : cleanShutdown ? 'loaded logs after a clean shutdown' : 'loaded logs after an unclean shutdown',
    );
  }

  private async readCheckpoint(file: OffsetCheckpointFile): Promise<Map<string, number>> {
    try {
      return await file.read();
    } catch (err) {
      // Without it every partition is recovered from its start: slower, never wrong.
      this.logger.warn({ err, file: file.file }, 'ignoring an unreadable checkpoint file');
      return new Map();
    }
  }

  private async openLog(
    meta: TopicMetadata,
    config: LogConfig,
    partition: number,
    state: { cleanShutdown: boolean; recoveryPoint: number; logStartOffset: number },
  ): Promise<{ log: PartitionLog; stats: LoadStats }> {
    const dir = path.join(this.options.dataDir, partitionDirName(meta.name, partition));
    const owner = await readPartitionMetadata(dir).catch(() => undefined);
    if (owner !== undefined && owner !== meta.topicId) {
      await this.removeDirectory(dir, deleteDirName(meta.name, partition, owner));
      state = { cleanShutdown: state.cleanShutdown, recoveryPoint: 0, logStartOffset: 0 };
    }
    const loaded = await loadPartitionLog({
      topic: meta.name,
      partition,
      dir,
      config,
      ops: this.options.ops,
      now: this.options.now,
      logger: this.logger,
      callerProducerIdExpirationMs: this.options.callerProducerIdExpirationMs,
      ...state,
    });
    if (owner !== meta.topicId) await writePartitionMetadata(dir, meta.topicId);
    return loaded;
  }

  /** `<topic>-<n>` directories of no current partition and `*-delete` ones go (in the background). */
  private async removeStrayDirectories(): Promise<void> {
    for (const entry of await fsp.readdir(this.options.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === METADATA_DIR) continue;
      const dir = path.join(this.options.dataDir, entry.name);
      if (entry.name.endsWith(DELETE_DIR_SUFFIX)) {
        this.inBackground(fsp.rm(dir, { recursive: true, force: true }));
        continue;
      }
      const parsed = parsePartitionDirName(entry.name);
      if (parsed === undefined) continue;
      const topic = this.topics.get(parsed.topic);
      if (topic !== undefined && parsed.partition < topic.meta.partitions) continue;
      const owner = (await readPartitionMetadata(dir).catch(() => undefined)) ?? 'unknown';
      await this.removeDirectory(dir, deleteDirName(parsed.topic, parsed.partition, owner));
    }
  }

  private async removeDirectory(dir: string, deleteName: string): Promise<void> {
    const target = path.join(this.options.dataDir, deleteName);
    await fsp.rename(dir, target);
    this.inBackground(fsp.rm(target, { recursive: true, force: true }));
  }

  private inBackground(work: Promise<unknown>): void {
    const tracked = work.catch((err) => this.logger.warn({ err }, 'background removal failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  private startTimers(): void {
    const retention = setInterval(() => void this.runRetention(), this.options.retentionCheckIntervalMs);
    const checkpoint = setInterval(
      () => void this.checkpoint().catch((err) => this.logger.warn({ err }, 'periodic checkpoint failed')),
      this.options.recoveryPointCheckpointIntervalMs,
    );
    retention.unref();
    checkpoint.unref();
    this.timers = [retention, checkpoint];
  }

  private effectiveConfigs(overrides: Record<string, string>): Record<string, string> {
    return effectiveTopicConfigs({ ...this.options.topicDefaults, ...overrides });
  }

  private logConfigOf(topic: string): LogConfig {
    return logConfigFrom(this.topics.get(topic)!.effectiveConfigs);
  }

  // ---- lookups (synchronous: the produce and fetch paths call them per request) ----

  topic(name: string): TopicLogs | undefined {
    return this.topics.get(name);
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** The partition's log, or undefined for an unknown topic or partition. */
  log(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.logs[partition];
  }

  allLogs(): PartitionLog[] {
    const out: PartitionLog[] = [];
    for (const t of this.topics.values()) out.push(...t.logs);
    return out;
  }

  // ---- admin changes, one at a time ----

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.adminChain.then(work);
    this.adminChain = result.catch(() => undefined);
    return result;
  }

  private metadata(): MetadataLog {
    if (this.metadataLog === undefined) throw new EngineError('ENGINE_CLOSED', 'The storage engine is not started');
    return this.metadataLog;
  }

  /** Configs must be validated by the caller. */
  createTopic(name: string, partitions: number, configs: Record<string, string>): Promise<TopicLogs> {
    return this.serially(async () => {
      if (this.topics.has(name)) throw new EngineError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists`);
      const meta: TopicMetadata = { name, topicId: randomBytes(16).toString('hex'), partitions, configs: { ...configs } };
      await this.metadata().append({ type: 'TopicRecord', v: 0, name, topicId: meta.topicId, partitions, configs: meta.configs });
      const topic: TopicLogs = { meta, effectiveConfigs: this.effectiveConfigs(meta.configs), logs: [] };
      // Visible only once every partition log is open: a concurrent append must never see the
      // topic without its logs.
      await this.openNewPartitions(topic, 0, partitions);
      this.topics.set(name, topic);
      return topic;
    });
  }

  createPartitions(name: string, count: number): Promise<void> {
    return this.serially(async () => {
      const topic = this.existing(name);
      const current = topic.meta.partitions;
      if (count <= current) {
        throw new EngineError('INVALID_PARTITIONS', `Topic '${name}' has ${current} partitions; the new count ${count} must be larger`);
      }
      await this.metadata().append({ type: 'PartitionRecord', v: 0, name, topicId: topic.meta.topicId, partitions: count });
      await this.openNewPartitions(topic, current, count);
      topic.meta.partitions = count;
    });
  }

  private async openNewPartitions(topic: TopicLogs, from: number, to: number): Promise<void> {
    const parts: number[] = [];
    for (let p = from; p < to; p++) parts.push(p);
    await forEachLimit(parts, LOAD_CONCURRENCY, async (p) => {
      // A fresh directory holds nothing to recover; cleanShutdown only skips an empty scan.
      const { log } = await this.openLog(topic.meta, logConfigFrom(topic.effectiveConfigs), p, { cleanShutdown: true, recoveryPoint: 0, logStartOffset: 0 });
      topic.logs[p] = log;
    });
  }

  /** Configs must be validated by the caller. */
  alterConfigs(name: string, changes: Record<string, string | null>): Promise<void> {
    return this.serially(async () => {
      const topic = this.existing(name);
      const configs = applyConfigChanges(topic.meta.configs, changes);
      const effective = this.effectiveConfigs(configs);
      const logConfig = logConfigFrom(effective);
      await this.metadata().append({ type: 'ConfigRecord', v: 0, name, topicId: topic.meta.topicId, configs: changes });
      topic.meta.configs = configs;
      topic.effectiveConfigs = effective;
      for (const log of topic.logs) log.setConfig(logConfig);
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.serially(async () => {
      const topic = this.existing(name);
      await this.metadata().append({ type: 'RemoveTopicRecord', v: 0, name, topicId: topic.meta.topicId });
      this.topics.delete(name);
      await Promise.all(topic.logs.map((log) => log.close().catch((err) => this.logger.warn({ err, topic: name }, 'closing a deleted log failed'))));
      for (let p = 0; p < topic.logs.length; p++) {
        const dir = path.join(this.options.dataDir, partitionDirName(name, p));
        await this.removeDirectory(dir, deleteDirName(name, p, topic.meta.topicId));
      }
      await this.checkpoint();
    });
  }

  private existing(name: string): TopicLogs {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' not found`);
    return topic;
  }

  // ---- retention and checkpoints ----

  /** One retention pass over every partition; concurrent calls share the running pass. */
  runRetention(): Promise<void> {
    this.retentionRunning ??= (async () => {
      let deleted = 0;
      for (const log of this.allLogs()) {
        try {
          deleted += await log.deleteOldSegments();
        } catch (err) {
          this.logger.warn({ err, topic: log.topic, partition: log.partition }, 'retention failed for a partition');
        }
      }
      if (deleted > 0) await this.checkpoint().catch((err) => this.logger.warn({ err }, 'checkpoint after retention failed'));
    })().finally(() => (this.retentionRunning = undefined));
    return this.retentionRunning;
  }

  /** Writes the recovery-point and log-start-offset checkpoints of every partition. */
  checkpoint(): Promise<void> {
    const run = this.checkpointChain.then(async () => {
      const points: PartitionOffset[] = [];
      const starts: PartitionOffset[] = [];
      for (const log of this.allLogs()) {
        points.push({ topic: log.topic, partition: log.partition, offset: log.recoveryPoint });
        starts.push({ topic: log.topic, partition: log.partition, offset: log.logStartOffset });
      }
      await this.recoveryPoints.write(points);
      await this.logStartOffsets.write(starts);
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Flushes and closes every log, writes the checkpoints and, if every partition closed cleanly,
   * the clean-shutdown marker that lets the next start skip recovery.
   */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.adminChain;
    await this.retentionRunning;
    let clean = true;
    for (const log of this.allLogs()) {
      const offline = log.isOffline;
      await log.close().catch((err) => {
        clean = false;
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'closing a partition log failed');
      });
      if (offline || log.isOffline) clean = false;
    }
    await this.metadataLog?.close();
    this.metadataLog = undefined;
    await this.checkpoint();
    if (clean) {
      await fsp.writeFile(path.join(this.options.dataDir, CLEAN_SHUTDOWN_FILE), '');
      await syncDirectory(this.options.dataDir);
    }
    await Promise.all(this.background);
    this.topics.clear();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

async function forEachLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
