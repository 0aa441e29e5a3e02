import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Acks, ProducerIdBlock, StorageEngine } from '../../engine/storage-engine';
import { partitionForGroup } from '../group/embedded-group-coordinator';
import { ensureInternalTopic, holdInternalRetention, INTERNAL_TOPIC_RETENTION_MS, releaseInternalRetention, replayPartition } from '../internal-partition';
import { LiveRecords } from '../live-records';
import type { OffsetCommitRequest } from '../group/group-coordinator';
import type { BeginTransactionRequest, EndTransactionOptions, TransactionalOffsetSink, TransactionCoordinator } from './transaction-coordinator';
import { notOpen, TransactionError } from './transaction-error';
import { beginParameters, TransactionRegistry } from './transaction-registry';
import { KeyedLock } from './keyed-lock';
import { isTransition, mergeOffsets, mergePartitions, transition, type TransactionMetadata, type TxnOffset, type TxnTopicPartition } from './transaction-metadata';
import { decodeTransactionRecord, encodeTransactionRecord, TRANSACTION_STATE_TOPIC } from './transaction-records';

export interface TransactionCoordinatorOptions {
  /** transaction.state.log.num.partitions when the topic is created (Kafka's 50; one process needs a few). */
  stateTopicPartitions?: number;
  /** Kafka's transaction.timeout.ms default for a transaction that names none: 60000. */
  defaultTimeoutMs?: number;
  /** Kafka's transaction.max.timeout.ms: 900000. */
  maxTimeoutMs?: number;
  /** How often open transactions are checked against their timeout (transaction.abort.timed.out.transaction.cleanup.interval.ms). */
  abortCheckIntervalMs?: number;
  /** Kafka's transactional.id.expiration.ms: an idle, ended transactional id is forgotten after it. */
  transactionalIdExpirationMs?: number;
  now?: () => number;
}

const MAX_EPOCH = 0x7fff;
const PRODUCER_ID_BLOCK = 100;

/**
 * The embedded engine's transaction coordinator. Each transactional id belongs to one
 * `__transaction_state` partition (the group rule: Java hashCode of the id, modulo the partition
 * count); its metadata is appended there (acks=all) before it takes effect in memory, and the last
 * record of an id is its state at start.
 *
 * Operations on one transactional id run one at a time. Commit and abort are two-phase, as Kafka's:
 * the decision (PrepareCommit / PrepareAbort) is durable first, then the markers go to every
 * partition of the transaction (and a commit's offsets to the group coordinator), then the
 * Complete state. A crash anywhere in between is finished by `start`: a prepared transaction is
 * completed (markers are idempotent), an open one is aborted, so no partition stays behind an open
 * transaction. Aborts the client did not ask for (timeout, restart, a new session) bump the
 * producer epoch first, so late appends of the old session are fenced by the partitions.
 *
 * The embedded engine has no compaction: each sweep re-appends, unchanged and under the id's lock,
 * every current record older than half of INTERNAL_TOPIC_RETENTION_MS (internal-partition.ts says
 * why that is sound), and ids expire by transactional.id.expiration.ms with a tombstone.
 */
export class EmbeddedTransactionCoordinator implements TransactionCoordinator {
  private readonly registry = new TransactionRegistry();
  private readonly locks = new KeyedLock();
  private partitionCount = 0;
  private live: LiveRecords[] = [];
  private retentionReleased = false;
  private status: 'new' | 'active' | 'closed' = 'new';
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private ids: ProducerIdBlock = { firstProducerId: 0, count: 0 };
  private readonly now: () => number;
  private readonly defaultTimeoutMs: number;
  private readonly maxTimeoutMs: number;

  constructor(
    private readonly engine: StorageEngine,
    private readonly offsets: TransactionalOffsetSink | undefined,
    private readonly options: TransactionCoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 900_000;
  }

  start(): Promise<void> {
    if (this.status === 'closed') return Promise.reject(new TransactionError('COORDINATOR_NOT_AVAILABLE', 'The transaction coordinator is closed'));
    if (this.engine.writeTxnMarkers === undefined || this.engine.allocateProducerIds === undefined) {
      return Promise.reject(new TransactionError('TRANSACTIONS_UNSUPPORTED', `The ${this.engine.name} engine does not serve transactions yet`));
    }
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw new TransactionError('COORDINATOR_NOT_AVAILABLE', `The transaction coordinator could not load: ${message(err)}`, { cause: err });
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const started = this.now();
    this.partitionCount = await ensureInternalTopic(this.engine, TRANSACTION_STATE_TOPIC, this.options.stateTopicPartitions ?? 4);
    this.live = Array.from({ length: this.partitionCount }, () => new LiveRecords());
    let records = 0;
    for (let p = 0; p < this.partitionCount; p++) records += await this.replay(p);
    this.status = 'active';
    let completed = 0;
    let aborted = 0;
    for (const meta of this.registry.values()) {
      if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
        await this.locks.run(meta.transactionalId, () => this.complete(meta));
        completed++;
      } else if (meta.state === 'Ongoing') {
        await this.locks.run(meta.transactionalId, () => this.abortWithBump(meta, 'restart'));
        aborted++;
      }
    }
    await this.refreshRecords();
    const interval = this.options.abortCheckIntervalMs ?? 1000;
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
    this.logger.info({ partitions: this.partitionCount, records, transactionalIds: this.registry.size, completed, aborted, ms: this.now() - started }, 'transaction coordinator loaded');
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.status = 'closed';
    await this.sweeping;
    await this.locks.idle();
    if (this.retentionReleased) await holdInternalRetention(this.engine, TRANSACTION_STATE_TOPIC);
    this.retentionReleased = false;
  }

  async begin(request: BeginTransactionRequest): Promise<TransactionMetadata> {
    await this.start();
    const { transactionalId: id, timeoutMs } = beginParameters(request, this.defaultTimeoutMs, this.maxTimeoutMs);
    return this.locks.run(id, async () => {
      let meta = this.registry.get(id);
      if (meta !== undefined && (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort')) meta = await this.complete(meta);
      // InitProducerId on an open transaction aborts it: the new session fences the old one.
      if (meta !== undefined && meta.state === 'Ongoing') meta = await this.abortWithBump(meta, 'fenced');
      let producerId: number;
      let producerEpoch: number;
      if (meta === undefined || meta.producerEpoch >= MAX_EPOCH - 1) {
        producerId = await this.nextProducerId();
        producerEpoch = 0;
      } else {
        producerId = meta.producerId;
        producerEpoch = meta.producerEpoch + 1;
      }
      const now = this.now();
      const next: TransactionMetadata = {
        transactionalId: id,
        transactionId: randomBytes(12).toString('hex'),
        producerId,
        producerEpoch,
        timeoutMs,
        state: 'Ongoing',
        partitions: mergePartitions([], request.partitions ?? []),
        pendingOffsets: [],
        startTimestamp: now,
        lastUpdateTimestamp: now,
        ...(request.transactionalId === undefined ? { generated: true } : {}),
      };
      if (meta !== undefined && !isTransition(meta.state, 'Ongoing')) {
        throw new TransactionError('INVALID_TXN_STATE', `Transactional id '${id}' is ${meta.state}; a new transaction cannot start`);
      }
      // Without partitions nothing depends on this record yet: the first AddPartitions record, fsynced
      // in the same log, makes it durable with itself.
      await this.persist(next, next.partitions.length > 0 ? -1 : 1);
      return next;
    });
  }

  async addPartitions(transactionId: string, partitions: TxnTopicPartition[]): Promise<TransactionMetadata> {
    await this.start();
    const id = this.idOf(transactionId, 'write records');
    return this.locks.run(id, async () => {
      const meta = this.open(transactionId, 'write records');
      const merged = mergePartitions(meta.partitions, partitions);
      if (merged.length === meta.partitions.length) return meta;
      const next = transition(meta, 'Ongoing', { partitions: merged }, this.now());
      await this.persist(next);
      return next;
    });
  }

  async addOffsets(transactionId: string, request: Omit<OffsetCommitRequest, 'offsets'> & { offsets: TxnOffset[] }): Promise<TransactionMetadata> {
    await this.start();
    if (this.offsets === undefined) throw new TransactionError('TRANSACTIONS_UNSUPPORTED', 'Offsets in a transaction need the group coordinator');
    const id = this.idOf(transactionId, 'send offsets');
    return this.locks.run(id, async () => {
      this.open(transactionId, 'send offsets');
      await this.offsets!.validateTxnOffsetCommit({ ...request, offsets: request.offsets });
      const meta = this.open(transactionId, 'send offsets');
      const next = transition(meta, 'Ongoing', { pendingOffsets: mergeOffsets(meta.pendingOffsets, request.groupId, request.offsets) }, this.now());
      await this.persist(next);
      return next;
    });
  }

  async end(transactionId: string, commit: boolean, options: EndTransactionOptions = {}): Promise<TransactionMetadata> {
    await this.start();
    const repeated = this.registry.endedByKey(transactionId, options.key, commit);
    if (repeated !== undefined) return repeated;
    const id = this.idOf(transactionId, commit ? 'commit' : 'abort');
    return this.locks.run(id, async () => {
      const meta = this.current(transactionId);
      const prepared = commit ? 'PrepareCommit' : 'PrepareAbort';
      const completed = commit ? 'CompleteCommit' : 'CompleteAbort';
      const repeat = options.key !== undefined && meta.endKey === options.key;
      // A decided transaction whose completion was cut short (a failed marker write) is driven on.
      if (meta.state === prepared) return this.complete(meta);
      if (repeat && meta.state === completed) return meta;
      if (meta.state !== 'Ongoing') throw notOpen(meta, commit ? 'commit' : 'abort');
      const next = transition(meta, prepared, { endKey: options.key, answer: options.answer }, this.now());
      await this.persist(next);
      return this.complete(next);
    });
  }

  describe(transactionId: string): TransactionMetadata {
    this.checkActive();
    return this.registry.describe(transactionId);
  }

  byTransactionalId(transactionalId: string): TransactionMetadata | undefined {
    return this.registry.get(transactionalId);
  }

  async forget(transactionalId: string): Promise<void> {
    await this.start();
    await this.locks.run(transactionalId, async () => {
      const meta = this.registry.get(transactionalId);
      if (meta === undefined || !isTransition(meta.state, 'Dead')) return;
      await this.write(transactionalId, null, 1);
      this.registry.remove(transactionalId);
    });
  }

  // ---- internals ----

  /** The transactional id of a current transaction; a replaced one is fenced, a forgotten one closed, an unknown one not found. */
  private idOf(transactionId: string, what = 'continue'): string {
    this.checkActive();
    return this.registry.idOf(transactionId, what);
  }

  /** The metadata of a transaction still current for its transactional id (read inside its lock). */
  private current(transactionId: string): TransactionMetadata {
    this.checkActive();
    return this.registry.current(transactionId);
  }

  private open(transactionId: string, what: string): TransactionMetadata {
    const meta = this.current(transactionId);
    if (meta.state !== 'Ongoing') throw notOpen(meta, what);
    return meta;
  }

  /** Aborts an open transaction the client did not end: the epoch goes up first, fencing its late appends. */
  private async abortWithBump(meta: TransactionMetadata, reason: 'timeout' | 'restart' | 'fenced'): Promise<TransactionMetadata> {
    const epoch = Math.min(meta.producerEpoch + 1, MAX_EPOCH);
    const prepare = transition(meta, 'PrepareAbort', { producerEpoch: epoch, abortReason: reason }, this.now());
    await this.persist(prepare);
    this.logger.info({ transactionalId: meta.transactionalId, transactionId: meta.transactionId, reason }, 'aborting an open transaction');
    return this.complete(prepare);
  }

  /** Second phase: markers, a commit's offsets, then the Complete state. Safe to repeat. */
  private async complete(meta: TransactionMetadata): Promise<TransactionMetadata> {
    const commit = meta.state === 'PrepareCommit';
    try {
      await this.engine.writeTxnMarkers!(
        meta.partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition, producerId: meta.producerId, producerEpoch: meta.producerEpoch, commit, coordinatorEpoch: 0 })),
      );
      if (commit) for (const g of meta.pendingOffsets) await this.offsets?.commitTxnOffsets(g.groupId, g.offsets);
    } catch (err) {
      throw new TransactionError('COORDINATOR_NOT_AVAILABLE', `Transaction ${meta.transactionId} is decided (${meta.state}) but could not be completed yet: ${message(err)}; it will be retried`, {
        cause: err,
      });
    }
    const done = transition(meta, commit ? 'CompleteCommit' : 'CompleteAbort', { startTimestamp: -1 }, this.now());
    // Written, not fsynced: if an OS crash loses it, replay finds the Prepare state and completes again.
    await this.persist(done, 1);
    if (done.generated === true) {
      // No client can name it again: a tombstone, and `describe` answers from memory while it lasts.
      await this.write(done.transactionalId, null, 1);
      this.registry.apply(done.transactionalId, null);
    }
    return done;
  }

  /** One housekeeping pass now instead of waiting for the timer (operations and tests); shares a running one. */
  runSweep(): Promise<void> {
    return this.sweep();
  }

  /** Timeouts, completions cut short, expired transactional ids, and records older than half the retention. */
  private sweep(): Promise<void> {
    if (this.sweeping !== undefined) return this.sweeping;
    if (this.status !== 'active') return Promise.resolve();
    this.sweeping = (async () => {
      const now = this.now();
      const expiration = this.options.transactionalIdExpirationMs ?? 604_800_000;
      for (const meta of this.registry.values()) {
        if (this.status !== 'active') break;
        const id = meta.transactionalId;
        try {
          if (meta.state === 'Ongoing' && meta.startTimestamp + meta.timeoutMs <= now) {
            await this.locks.run(id, async () => {
              const m = this.registry.get(id);
              if (m !== undefined && m.state === 'Ongoing' && m.startTimestamp + m.timeoutMs <= this.now()) await this.abortWithBump(m, 'timeout');
            });
          } else if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
            await this.locks.run(id, async () => {
              const m = this.registry.get(id);
              if (m !== undefined && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) await this.complete(m);
            });
          } else if (isTransition(meta.state, 'Dead') && now - meta.lastUpdateTimestamp > expiration) {
            await this.forget(id);
          }
        } catch (err) {
          this.logger.warn({ err, transactionalId: id }, 'transaction housekeeping failed; retrying on the next pass');
        }
      }
      await this.refreshRecords();
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * acks=all by default: a state that lets partitions hold transactional batches (Ongoing with its
   * partitions) or decides an outcome must be on disk before anything relies on it.
   */
  private async persist(meta: TransactionMetadata, acks: Acks = -1): Promise<void> {
    await this.write(meta.transactionalId, meta, acks);
    this.registry.apply(meta.transactionalId, meta);
  }

  private write(transactionalId: string, meta: TransactionMetadata | null, acks: Acks = -1): Promise<void> {
    return this.append(partitionForGroup(transactionalId, this.partitionCount), encodeTransactionRecord(transactionalId, meta, this.now()), acks);
  }

  private async append(partition: number, record: { key: Buffer; value: Buffer | null; timestamp: number }, acks: Acks): Promise<void> {
    if (this.status === 'closed') throw new TransactionError('COORDINATOR_NOT_AVAILABLE', 'The transaction coordinator is closed');
    try {
      await this.engine.append(TRANSACTION_STATE_TOPIC, partition, [record], { acks });
    } catch (err) {
      throw new TransactionError('COORDINATOR_NOT_AVAILABLE', `Could not write to ${TRANSACTION_STATE_TOPIC}-${partition}: ${message(err)}`, { cause: err });
    }
    (this.live[partition] as LiveRecords).observe(record.key, record.value, record.timestamp);
  }

  /**
   * Re-appends each current record older than half the topic's retention, under its id's lock so
   * that no newer record of the id is in flight; then releases the retention held since load, once.
   * Never throws: what fails is retried by the next sweep.
   */
  private async refreshRecords(): Promise<void> {
    const cutoff = this.now() - INTERNAL_TOPIC_RETENTION_MS / 2;
    let failed = false;
    for (const [partition, live] of this.live.entries()) {
      for (const old of live.olderThan(cutoff)) {
        if (this.status === 'closed') return;
        const again = async () => {
          const current = live.get(old.key);
          // Written anew (or deleted) since the list was taken: nothing to do.
          if (current === undefined || current.timestamp >= cutoff) return;
          await this.append(partition, { key: current.key, value: current.value, timestamp: this.now() }, 1);
        };
        const id = decodeTransactionRecord(old.key, null)?.transactionalId;
        try {
          await (id === undefined ? again() : this.locks.run(id, again));
        } catch (err) {
          failed = true;
          this.logger.warn({ err, partition }, 'could not re-append a transaction state record; retrying on the next pass');
        }
      }
    }
    if (failed || this.retentionReleased || this.status === 'closed') return;
    await releaseInternalRetention(this.engine, TRANSACTION_STATE_TOPIC).then(
      () => (this.retentionReleased = true),
      (err: unknown) => this.logger.warn({ err }, `could not release the retention of ${TRANSACTION_STATE_TOPIC}; retrying on the next pass`),
    );
  }

  private async nextProducerId(): Promise<number> {
    if (this.ids.count === 0) this.ids = await this.engine.allocateProducerIds!(PRODUCER_ID_BLOCK);
    const id = this.ids.firstProducerId;
    this.ids = { firstProducerId: id + 1, count: this.ids.count - 1 };
    return id;
  }

  private checkActive(): void {
    if (this.status === 'active') return;
    throw new TransactionError('COORDINATOR_NOT_AVAILABLE', this.status === 'closed' ? 'The transaction coordinator is closed' : 'The transaction coordinator is loading');
  }

  private async replay(partition: number): Promise<number> {
    const live = this.live[partition] as LiveRecords;
    return replayPartition(this.engine, TRANSACTION_STATE_TOPIC, partition, (r) => {
      live.observeReplayed(r);
      const decoded = decodeTransactionRecord(r.key, r.value);
      if (decoded === undefined) this.logger.warn({ partition, offset: r.offset }, 'skipping a transaction state record of an unknown version');
      else this.registry.apply(decoded.transactionalId, decoded.meta);
    });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
