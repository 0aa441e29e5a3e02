import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { OffsetCommitRequest } from '../../coordinator/group/group-coordinator';
import { isCoordinatorError } from '../../coordinator/group/coordinator-error';
import { KeyedLock } from '../../coordinator/transaction/keyed-lock';
import type { BeginTransactionRequest, EndTransactionOptions, TransactionCoordinator } from '../../coordinator/transaction/transaction-coordinator';
import { fenced, notOpen, TransactionError } from '../../coordinator/transaction/transaction-error';
import { beginParameters, TransactionRegistry } from '../../coordinator/transaction/transaction-registry';
import { mergeOffsets, mergePartitions, transition, type TransactionMetadata, type TxnOffset, type TxnTopicPartition } from '../../coordinator/transaction/transaction-metadata';
import { delay } from './delay';
import type { StorageEngine } from '../storage-engine';
import { KafkaGroupConnection } from './kafka-group-connection';
import { byTopic } from './by-topic';
import { KafkaTransactionJournal, TRANSACTION_ANSWERS_TOPIC } from './kafka-transaction-journal';
import { isConcurrentTransactions, toTransactionError } from './kafka-transaction-errors';
import { API_KEYS, COORDINATOR_TYPE, type KjsCluster, type KjsTxnBroker, type KjsTxnProducer } from './kafkajs-internals';

export interface KafkaTransactionCoordinatorOptions {
  /** Kafka's transaction.timeout.ms for a transaction that names none: 60000. */
  defaultTimeoutMs?: number;
  /** The largest timeout accepted before asking Kafka (its transaction.max.timeout.ms default, 900000). */
  maxTimeoutMs?: number;
  /**
   * Serve transactions only on a cluster that announces WriteTxnMarkers (key 27), the API through
   * which Kafka's transaction coordinator writes commit and abort markers (default true). A cluster
   * that accepts the transaction requests but writes no markers would let read_committed readers see
   * aborted records; tests turn this off to drive the protocol against such a cluster.
   */
  requireMarkers?: boolean;
  /** How often open transactions are checked against their timeout (and ended ones against their expiration). */
  abortCheckIntervalMs?: number;
  /** Kafka's transactional.id.expiration.ms: an ended transactional id idle this long is forgotten here (7 days). */
  transactionalIdExpirationMs?: number;
  /** The compacted topic that keeps keyed answers across restarts (KafkaTransactionJournal); null: memory only. */
  answersTopic?: string | null;
  now?: () => number;
}

export interface KafkaTransactionCoordinatorDeps {
  /** The engine, for the answers topic. */
  engine: StorageEngine;
  /** A kafkajs Cluster with the engine's settings. */
  newCluster: (clientId?: string) => KjsCluster;
  /** Throws while the engine finds the cluster unreachable. */
  assertUp: () => void;
  logger: Logger;
}

/** CONCURRENT_TRANSACTIONS retries: the previous transaction's markers take a few ms to write. */
const CONCURRENT_RETRIES = 12;

/**
 * Basket's TransactionCoordinator on Kafka's own transaction coordinator: a begin is
 * InitProducerId with the transactional id (Kafka bumps the epoch, fencing and aborting the id's
 * previous session), records are preceded by AddPartitionsToTxn, offsets are AddOffsetsToTxn then
 * TxnOffsetCommit at the group's coordinator, and commit or abort is EndTxn, after which Kafka
 * writes the markers and the offsets. Requests go to the coordinator of each transactional id
 * (FindCoordinator, key type 1), cached; CONCURRENT_TRANSACTIONS is retried, as Kafka expects.
 *
 * What Kafka does not hold lives here (TransactionRegistry): the HTTP transaction id of each
 * session, its partitions and offsets as described to clients, and the Idempotency-Key answer of a
 * commit or abort, which is also kept in Kafka (KafkaTransactionJournal) and replayed at start, so a
 * keyed retry after a restart gets it. Open transactions are not kept: after a restart of this
 * process they are unknown here (40407); Kafka aborts them once their timeout passes, or at once
 * when a client begins again with the same transactional id. The timeout is also enforced here, so
 * a client learns TRANSACTION_EXPIRED rather than a bare fenced epoch.
 *
 * Operations on one transactional id run one at a time (KeyedLock).
 */
export class KafkaTransactionCoordinator implements TransactionCoordinator {
  private readonly sessions = new TransactionRegistry();
  private readonly locks = new KeyedLock();
  private readonly txn: KafkaGroupConnection;
  private readonly groups: KafkaGroupConnection;
  private readonly now: () => number;
  private readonly defaultTimeoutMs: number;
  private readonly maxTimeoutMs: number;
  private started: Promise<void> | undefined;
  /** Why the cluster cannot serve transactions, once found out: every call answers it. */
  private unsupported: TransactionError | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly journal: KafkaTransactionJournal | undefined;
  private journalLoaded = false;

  constructor(
    private readonly deps: KafkaTransactionCoordinatorDeps,
    private readonly options: KafkaTransactionCoordinatorOptions = {},
  ) {
    const cluster = deps.newCluster();
    this.txn = new KafkaGroupConnection(cluster, deps.assertUp, COORDINATOR_TYPE.transaction);
    this.groups = new KafkaGroupConnection(cluster, deps.assertUp, COORDINATOR_TYPE.group);
    this.now = options.now ?? Date.now;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 900_000;
    const topic = options.answersTopic === undefined ? TRANSACTION_ANSWERS_TOPIC : options.answersTopic;
    this.journal = topic === null ? undefined : new KafkaTransactionJournal(deps.engine, topic, deps.logger);
  }

  /** Checks that the cluster offers the transaction APIs (and marker writing, unless told not to). */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new TransactionError('COORDINATOR_NOT_AVAILABLE', 'The transaction coordinator is closed'));
    this.started ??= this.checkCluster().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private async checkCluster(): Promise<void> {
    const needed: Array<[number, string]> = [
      [API_KEYS.InitProducerId, 'InitProducerId'],
      [API_KEYS.AddPartitionsToTxn, 'AddPartitionsToTxn'],
      [API_KEYS.AddOffsetsToTxn, 'AddOffsetsToTxn'],
      [API_KEYS.EndTxn, 'EndTxn'],
      [API_KEYS.TxnOffsetCommit, 'TxnOffsetCommit'],
    ];
    if (this.options.requireMarkers !== false) needed.push([API_KEYS.WriteTxnMarkers, 'WriteTxnMarkers']);
    for (const [key, name] of needed) {
      try {
        await this.txn.requireApi(key, name);
      } catch (err) {
        const mapped = toTransactionError(err, 'check the cluster for transactions');
        if (mapped instanceof TransactionError && mapped.code === 'COORDINATOR_NOT_AVAILABLE') throw mapped;
        const why = key === API_KEYS.WriteTxnMarkers ? ': its transaction coordinator cannot write commit and abort markers, so aborted records would stay visible to read_committed readers' : '';
        this.unsupported = new TransactionError('TRANSACTIONS_UNSUPPORTED', `The Kafka cluster does not offer the ${name} API (key ${key})${why}; transactions are not served on it`, { cause: err });
        throw this.unsupported;
      }
    }
    this.unsupported = undefined;
    if (this.journal !== undefined && !this.journalLoaded) {
      let replayed: TransactionMetadata[];
      try {
        replayed = await this.journal.load();
      } catch (err) {
        throw new TransactionError('COORDINATOR_NOT_AVAILABLE', `Could not read the transaction answers: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      for (const meta of replayed) if (this.sessions.get(meta.transactionalId) === undefined) this.sessions.apply(meta.transactionalId, meta);
      this.journalLoaded = true;
    }
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.sweep(), this.options.abortCheckIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.locks.idle();
    await this.txn.close();
    await this.groups.close();
  }

  async begin(request: BeginTransactionRequest): Promise<TransactionMetadata> {
    await this.start();
    const { transactionalId: id, timeoutMs } = beginParameters(request, this.defaultTimeoutMs, this.maxTimeoutMs);
    return this.locks.run(id, async () => {
      // Kafka aborts an open transaction of the id and bumps the epoch: the old session is fenced.
      const { producerId, producerEpoch } = await this.onTxnCoordinator(id, `begin a transaction of '${id}'`, (b) => b.initProducerId({ transactionalId: id, transactionTimeout: timeoutMs }));
      const previous = this.sessions.get(id);
      // Fenced at Kafka from now on, whether or not the rest of this begin succeeds.
      if (previous !== undefined) this.sessions.fence(previous);
      const now = this.now();
      const partitions = mergePartitions([], request.partitions ?? []);
      const meta: TransactionMetadata = {
        transactionalId: id,
        transactionId: randomBytes(12).toString('hex'),
        producerId: Number(producerId),
        producerEpoch,
        timeoutMs,
        state: 'Ongoing',
        partitions: [],
        pendingOffsets: [],
        startTimestamp: now,
        lastUpdateTimestamp: now,
        ...(request.transactionalId === undefined ? { generated: true } : {}),
      };
      if (partitions.length > 0) await this.addToKafka(meta, partitions);
      const started = { ...meta, partitions };
      this.sessions.apply(id, started);
      return started;
    });
  }

  async addPartitions(transactionId: string, partitions: TxnTopicPartition[]): Promise<TransactionMetadata> {
    await this.start();
    const id = this.idOf(transactionId, 'write records');
    return this.locks.run(id, async () => {
      const meta = await this.open(transactionId, 'write records');
      const merged = mergePartitions(meta.partitions, partitions);
      if (merged.length === meta.partitions.length) return meta;
      const known = new Set(meta.partitions.map((tp) => `${tp.topic}\u0000${tp.partition}`));
      await this.guarded(meta, () => this.addToKafka(meta, merged.filter((tp) => !known.has(`${tp.topic}\u0000${tp.partition}`))));
      const next = transition(meta, 'Ongoing', { partitions: merged }, this.now());
      this.sessions.apply(next.transactionalId, next);
      return next;
    });
  }

  /**
   * AddOffsetsToTxn, then TxnOffsetCommit at the group's coordinator: Kafka commits the offsets
   * with the transaction. kafkajs sends TxnOffsetCommit up to v2, which carries no member id or
   * generation (KIP-447 added them in v3), so a member's offsets are first checked with a Heartbeat
   * under its member id and generation, which Kafka answers UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION
   * as v3 would; REBALANCE_IN_PROGRESS passes, as v3 accepts the current generation until the next.
   * Offsets of a consumer outside group management (member '') are not checked, as in Kafka.
   */
  async addOffsets(transactionId: string, request: Omit<OffsetCommitRequest, 'offsets'> & { offsets: TxnOffset[] }): Promise<TransactionMetadata> {
    await this.start();
    const id = this.idOf(transactionId, 'send offsets');
    return this.locks.run(id, async () => {
      const meta = await this.open(transactionId, 'send offsets');
      const producer = producerOf(meta);
      if (request.memberId !== '') await this.checkMember(request.groupId, request.memberId, request.generationId);
      await this.guarded(meta, async () => {
        await this.onTxnCoordinator(id, `add the offsets of group '${request.groupId}' to transaction ${transactionId}`, (b) => b.addOffsetsToTxn({ ...producer, groupId: request.groupId }));
        const topics = byTopic(request.offsets, (o) => ({ partition: o.partition, offset: String(o.offset), metadata: o.metadata }));
        await this.groups.onCoordinator(request.groupId, `commit offsets of group '${request.groupId}' in transaction ${transactionId}`, (b) =>
          b.txnOffsetCommit({ ...producer, groupId: request.groupId, topics }),
        );
      });
      const next = transition(meta, 'Ongoing', { pendingOffsets: mergeOffsets(meta.pendingOffsets, request.groupId, request.offsets) }, this.now());
      this.sessions.apply(next.transactionalId, next);
      return next;
    });
  }

  async end(transactionId: string, commit: boolean, options: EndTransactionOptions = {}): Promise<TransactionMetadata> {
    await this.start();
    const repeated = this.sessions.endedByKey(transactionId, options.key, commit);
    if (repeated !== undefined) return repeated;
    const what = commit ? 'commit' : 'abort';
    const id = this.idOf(transactionId, what);
    return this.locks.run(id, async () => {
      let meta = this.current(transactionId);
      const prepared = commit ? 'PrepareCommit' : 'PrepareAbort';
      const completed = commit ? 'CompleteCommit' : 'CompleteAbort';
      if (options.key !== undefined && meta.endKey === options.key && meta.state === completed) return meta;
      if (meta.state !== prepared) {
        meta = await this.open(transactionId, what);
        meta = transition(meta, prepared, { endKey: options.key, answer: options.answer }, this.now());
        this.sessions.apply(id, meta);
      }
      // Kafka answers a repeated EndTxn of a completed transaction with success, so a retry after a lost answer is safe.
      await this.guarded(meta, () => this.onTxnCoordinator(id, `${what} transaction ${transactionId}`, (b) => b.endTxn({ ...producerOf(meta), transactionResult: commit })));
      const done = transition(meta, completed, { startTimestamp: -1 }, this.now());
      await this.ended(done);
      return done;
    });
  }

  describe(transactionId: string): TransactionMetadata {
    if (this.unsupported !== undefined) throw this.unsupported;
    return this.sessions.describe(transactionId);
  }

  byTransactionalId(transactionalId: string): TransactionMetadata | undefined {
    return this.sessions.get(transactionalId);
  }

  async forget(transactionalId: string): Promise<void> {
    await this.locks.run(transactionalId, async () => {
      const meta = this.sessions.get(transactionalId);
      if (meta === undefined || meta.state === 'Ongoing' || meta.state.startsWith('Prepare')) return;
      this.sessions.apply(transactionalId, null);
      if (meta.endKey !== undefined && meta.generated !== true) await this.journal?.forgotten(transactionalId);
    });
  }

  // ---- internals ----

  private async checkMember(groupId: string, memberId: string, generationId: number): Promise<void> {
    try {
      await this.groups.onCoordinator(groupId, `check member '${memberId}' of group '${groupId}'`, (b) => b.heartbeat({ groupId, groupGenerationId: generationId, memberId }));
    } catch (err) {
      if (isCoordinatorError(err, 'REBALANCE_IN_PROGRESS')) return;
      throw toTransactionError(err, `offsets of group '${groupId}'`);
    }
  }

  private async addToKafka(meta: TransactionMetadata, partitions: TxnTopicPartition[]): Promise<void> {
    const topics = byTopic(partitions, (tp) => tp.partition);
    await this.onTxnCoordinator(meta.transactionalId, `add partitions to transaction ${meta.transactionId}`, (b) => b.addPartitionsToTxn({ ...producerOf(meta), topics }));
  }

  /** A request to the transactional id's coordinator, retried while Kafka answers CONCURRENT_TRANSACTIONS. */
  private async onTxnCoordinator<T>(transactionalId: string, context: string, send: (broker: KjsTxnBroker) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.txn.onCoordinator(transactionalId, context, send);
      } catch (err) {
        if (!isConcurrentTransactions(err) || attempt >= CONCURRENT_RETRIES || this.closed) throw toTransactionError(err, context);
        await delay(Math.min(20 * 2 ** attempt, 500));
      }
    }
  }

  /** Runs a request of an open session; a fenced answer ends the session here too (past its timeout: expired). */
  private async guarded<T>(meta: TransactionMetadata, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof TransactionError) || err.code !== 'PRODUCER_FENCED') throw err;
      if (this.now() >= meta.startTimestamp + meta.timeoutMs) {
        const expired = await this.markAborted(meta, 'timeout');
        throw notOpen(expired, 'continue');
      }
      this.sessions.fence(meta);
      throw fenced(meta, err);
    }
  }

  private idOf(transactionId: string, what: string): string {
    if (this.unsupported !== undefined) throw this.unsupported;
    return this.sessions.idOf(transactionId, what);
  }

  private current(transactionId: string): TransactionMetadata {
    return this.sessions.current(transactionId);
  }

  /** An open transaction, or why not; one past its timeout is aborted first (inside its lock). */
  private async open(transactionId: string, what: string): Promise<TransactionMetadata> {
    const meta = this.current(transactionId);
    if (meta.state !== 'Ongoing') throw notOpen(meta, what);
    if (this.now() < meta.startTimestamp + meta.timeoutMs) return meta;
    throw notOpen(await this.expire(meta), what);
  }

  /** Ends a transaction past its timeout: EndTxn(abort) unless Kafka aborted it already; either way it is over. */
  private async expire(meta: TransactionMetadata): Promise<TransactionMetadata> {
    try {
      await this.onTxnCoordinator(meta.transactionalId, `abort transaction ${meta.transactionId} after its timeout`, (b) => b.endTxn({ ...producerOf(meta), transactionResult: false }));
    } catch (err) {
      this.deps.logger.info({ err, transactionId: meta.transactionId }, 'abort after timeout not confirmed by Kafka; it aborts timed-out transactions itself');
    }
    return this.markAborted(meta, 'timeout');
  }

  private async markAborted(meta: TransactionMetadata, reason: string): Promise<TransactionMetadata> {
    const prepare = transition(meta, 'PrepareAbort', { abortReason: reason }, this.now());
    const done = transition(prepare, 'CompleteAbort', { startTimestamp: -1 }, this.now());
    await this.ended(done);
    return done;
  }

  /** An ended transaction becomes its id's state; a generated id cannot be named again, so it is forgotten at once (and still described while retired). */
  private async ended(done: TransactionMetadata): Promise<void> {
    this.sessions.apply(done.transactionalId, done);
    if (done.generated === true) this.sessions.apply(done.transactionalId, null);
    else await this.journal?.ended(done);
  }

  /** Aborts open transactions past their timeout; forgets ended transactional ids idle past their expiration. */
  private async sweep(): Promise<void> {
    const now = this.now();
    const expiration = this.options.transactionalIdExpirationMs ?? 604_800_000;
    for (const meta of this.sessions.values()) {
      if (this.closed) return;
      if ((meta.state === 'CompleteCommit' || meta.state === 'CompleteAbort') && now - meta.lastUpdateTimestamp > expiration) {
        await this.forget(meta.transactionalId);
        continue;
      }
      if (meta.state !== 'Ongoing' || now < meta.startTimestamp + meta.timeoutMs) continue;
      await this.locks
        .run(meta.transactionalId, async () => {
          const m = this.sessions.get(meta.transactionalId);
          if (m !== undefined && m.state === 'Ongoing' && this.now() >= m.startTimestamp + m.timeoutMs) await this.expire(m);
        })
        .catch((err: unknown) => this.deps.logger.warn({ err, transactionalId: meta.transactionalId }, 'expiring a transaction failed; retrying on the next pass'));
    }
  }
}

function producerOf(meta: TransactionMetadata): KjsTxnProducer {
  return { transactionalId: meta.transactionalId, producerId: String(meta.producerId), producerEpoch: meta.producerEpoch };
}
