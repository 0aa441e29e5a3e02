import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../errors';
import type { StorageEngine } from '../engine/storage-engine';
import type { ProduceInput, ProducePlan, ProduceService } from '../produce/produce-service';
import type { TransactionCoordinator } from '../coordinator/transaction/transaction-coordinator';
import type { TransactionMetadata, TxnOffset } from '../coordinator/transaction/transaction-metadata';
import { transactionApiError } from './transaction-api-errors';

/** A record of a transaction step: any topic, any partition. */
export interface TransactionRecordInput extends ProduceInput {
  topic: string;
}

export interface TransactionRecordOutcome {
  topic: string;
  partition: number;
  offset: number;
}

export interface TransactionOffsetsInput {
  groupId: string;
  /** '' and -1 for a consumer outside group management. */
  memberId: string;
  generationId: number;
  offsets: TxnOffset[];
}

export interface OneShotResult {
  transaction: TransactionMetadata;
  offsets: TransactionRecordOutcome[];
  replayed: boolean;
}

/** A step's records, planned: topic, partition and size checks done, nothing appended yet. */
interface PlannedRecords {
  plans: ProducePlan[];
  /** Request indexes of each topic's records, in the order its plan saw them. */
  indexes: Map<string, number[]>;
  count: number;
}

/** The steps of one open transaction in this process: its sequences per partition and keyed answers. */
interface Session {
  sequences: Map<string, number>;
  chain: Promise<unknown>;
  keyed: Map<string, { fingerprint: string; answer: Promise<unknown> }>;
}

const MAX_KEYED_BEGINS = 10_000;
/** Past this many sessions, a begin first drops those whose transaction has ended. */
const MAX_IDLE_SESSIONS = 1000;

/**
 * Transactions over HTTP on top of the transaction coordinator: the transactional producer's side
 * of Kafka's protocol. Records of a step are planned (topic, partition, size checks) as a produce
 * request is, their partitions are added to the transaction durably, then each partition gets one
 * transactional batch with the session's producer id, epoch and next sequence.
 *
 * Steps of one transaction run one at a time, so a commit never overtakes records still being
 * appended. A step that fails after an append may have started aborts the whole transaction:
 * nothing of it becomes visible. Idempotency-Key: a repeated step with the same key and body gets
 * the first answer (in memory for records and offsets steps, whose transaction a restart aborts;
 * in the coordinator's durable state for commit, abort and the one-shot form).
 */
export class TransactionService {
  private readonly sessions = new Map<string, Session>();
  private readonly keyedBegins = new Map<string, { fingerprint: string; answer: Promise<TransactionMetadata> }>();

  constructor(
    private readonly engine: StorageEngine,
    private readonly coordinator: TransactionCoordinator,
    private readonly produce: ProduceService,
    private readonly logger: Logger,
  ) {}

  start(): Promise<void> {
    return this.coordinator.start().catch((err: unknown) => {
      throw transactionApiError(err);
    });
  }

  close(): Promise<void> {
    return this.coordinator.close();
  }

  begin(transactionalId: string | undefined, timeoutMs: number | undefined, key?: string, fingerprint = ''): Promise<{ meta: TransactionMetadata; replayed: boolean }> {
    if (key !== undefined) {
      const seen = this.keyedBegins.get(key);
      if (seen !== undefined) {
        if (seen.fingerprint !== fingerprint) throw keyReused();
        return seen.answer.then((meta) => ({ meta, replayed: true }));
      }
    }
    this.dropEndedSessions();
    const answer = this.mapped(() => this.coordinator.begin({ transactionalId, timeoutMs }));
    if (key !== undefined) {
      this.keyedBegins.set(key, { fingerprint, answer });
      answer.catch(() => this.keyedBegins.delete(key));
      if (this.keyedBegins.size > MAX_KEYED_BEGINS) this.keyedBegins.delete(this.keyedBegins.keys().next().value as string);
    }
    return answer.then((meta) => ({ meta, replayed: false }));
  }

  describe(transactionId: string): TransactionMetadata {
    try {
      return this.coordinator.describe(transactionId);
    } catch (err) {
      throw transactionApiError(err);
    }
  }

  records(transactionId: string, records: TransactionRecordInput[], key?: string, fingerprint = ''): Promise<{ offsets: TransactionRecordOutcome[]; replayed: boolean }> {
    return this.step(transactionId, key, fingerprint, (session) => this.appendRecords(transactionId, session, records));
  }

  offsets(transactionId: string, input: TransactionOffsetsInput, key?: string, fingerprint = ''): Promise<{ meta: TransactionMetadata; replayed: boolean }> {
    return this.step(transactionId, key, fingerprint, () =>
      this.coordinator.addOffsets(transactionId, input).catch((err: unknown) => {
        throw transactionApiError(err, true);
      }),
    ).then(({ offsets, replayed }) => ({ meta: offsets, replayed }));
  }

  /** Commit or abort; a retry with the same Idempotency-Key gets the same answer, also after a restart. */
  async end(transactionId: string, commit: boolean, key?: string): Promise<{ meta: TransactionMetadata; replayed: boolean }> {
    const session = this.sessions.get(transactionId);
    const run = async () => {
      const before = this.peek(transactionId);
      const meta = await this.mapped(() => this.coordinator.end(transactionId, commit, { key }));
      this.sessions.delete(transactionId);
      const replayed = before !== undefined && before.state === meta.state && key !== undefined && before.endKey === key;
      return { meta, replayed };
    };
    if (session === undefined) return run();
    const result = session.chain.then(run, run);
    session.chain = result.catch(() => undefined);
    return result;
  }

  /**
   * The one-shot form: begin, records, commit. With an Idempotency-Key the transactional id comes
   * from the key, so a retry after a lost answer finds the committed transaction and its offsets
   * (durably, across a restart); a retry after a crash that aborted the first attempt writes again.
   */
  async oneShot(records: TransactionRecordInput[], timeoutMs: number | undefined, key?: string, fingerprint = ''): Promise<OneShotResult> {
    const transactionalId = key === undefined ? undefined : `basket-oneshot-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 40)}`;
    if (transactionalId !== undefined) {
      const previous = this.coordinator.byTransactionalId(transactionalId);
      if (previous !== undefined && previous.state === 'CompleteCommit' && previous.endKey === key) {
        const answer = previous.answer as { fingerprint: string; offsets: TransactionRecordOutcome[] };
        if (answer.fingerprint !== fingerprint) throw keyReused();
        return { transaction: previous, offsets: answer.offsets, replayed: true };
      }
    }
    const planned = await this.plan(records);
    // The partitions go in with the begin: one durable step fewer than begin, then records.
    const meta = await this.mapped(() => this.coordinator.begin({ transactionalId, timeoutMs, partitions: partitionsOf(planned) }));
    const id = meta.transactionId;
    let offsets: TransactionRecordOutcome[];
    try {
      offsets = await this.appendPlanned(meta, { sequences: new Map(), chain: Promise.resolve(), keyed: new Map() }, planned);
    } catch (err) {
      await this.end(id, false).catch(() => undefined);
      throw err;
    }
    const endKey = key ?? `oneshot:${id}`;
    const transaction = await this.mapped(() => this.coordinator.end(id, true, { key: endKey, answer: { fingerprint, offsets } }));
    return { transaction, offsets, replayed: false };
  }

  // ---- internals ----

  /** Sessions of transactions the coordinator ended on its own (timeout, a newer session) and no client came back to. */
  private dropEndedSessions(): void {
    if (this.sessions.size < MAX_IDLE_SESSIONS) return;
    for (const id of [...this.sessions.keys()]) if (this.peek(id)?.state !== 'Ongoing') this.sessions.delete(id);
  }

  private peek(transactionId: string): TransactionMetadata | undefined {
    try {
      return this.coordinator.describe(transactionId);
    } catch {
      return undefined;
    }
  }

  /** Runs a step after the transaction's previous ones; a keyed repeat gets the first answer. */
  private step<T>(transactionId: string, key: string | undefined, fingerprint: string, work: (session: Session) => Promise<T>): Promise<{ offsets: T; replayed: boolean }> {
    let session = this.sessions.get(transactionId);
    if (session === undefined) {
      // Unknown, replaced or ended transactions fail here with the coordinator's reason; no session is kept for them.
      if (this.describe(transactionId).state !== 'Ongoing') {
        return this.mapped(() => this.coordinator.addPartitions(transactionId, [])).then(() => {
          throw new ApiError('TRANSACTION_STATE', `Transaction ${transactionId} is not open`);
        });
      }
      session = { sequences: new Map(), chain: Promise.resolve(), keyed: new Map() };
      this.sessions.set(transactionId, session);
    }
    if (key !== undefined) {
      const seen = session.keyed.get(key);
      if (seen !== undefined) {
        if (seen.fingerprint !== fingerprint) return Promise.reject(keyReused());
        return (seen.answer as Promise<T>).then((offsets) => ({ offsets, replayed: true }));
      }
    }
    const s = session;
    const answer = s.chain.then(() => work(s));
    s.chain = answer.catch(() => undefined);
    if (key !== undefined) s.keyed.set(key, { fingerprint, answer });
    return answer.then((offsets) => ({ offsets, replayed: false }));
  }

  /** Every check that can refuse the records (as a produce request's), before anything is written. */
  private async plan(records: TransactionRecordInput[]): Promise<PlannedRecords> {
    if (records.length === 0) throw new ApiError('NO_RECORDS', 'The request carries no records');
    const byTopic = new Map<string, { inputs: ProduceInput[]; indexes: number[] }>();
    records.forEach((r, i) => {
      let g = byTopic.get(r.topic);
      if (g === undefined) byTopic.set(r.topic, (g = { inputs: [], indexes: [] }));
      g.inputs.push(r);
      g.indexes.push(i);
    });
    const plans: ProducePlan[] = [];
    for (const [topic, g] of byTopic) plans.push(await this.produce.plan(topic, g.inputs));
    return { plans, indexes: new Map([...byTopic].map(([topic, g]) => [topic, g.indexes])), count: records.length };
  }

  private async appendRecords(transactionId: string, session: Session, records: TransactionRecordInput[]): Promise<TransactionRecordOutcome[]> {
    const planned = await this.plan(records);
    const meta = await this.mapped(() => this.coordinator.addPartitions(transactionId, partitionsOf(planned)));
    return this.appendPlanned(meta, session, planned);
  }

  /** One transactional batch per partition; the partitions are in the transaction already. */
  private async appendPlanned(meta: TransactionMetadata, session: Session, planned: PlannedRecords): Promise<TransactionRecordOutcome[]> {
    const transactionId = meta.transactionId;
    const outcomes = new Array<TransactionRecordOutcome>(planned.count);
    const appends = planned.plans.flatMap((plan) => {
      const indexes = planned.indexes.get(plan.topic)!;
      return plan.batches.map(async (b) => {
        const tp = `${plan.topic}\u0000${b.partition}`;
        const baseSequence = session.sequences.get(tp) ?? 0;
        // acks=1: the commit marker is fsynced, and its sync covers every batch written before it; a
        // crash before the commit aborts the transaction anyway.
        const result = await this.engine.append(plan.topic, b.partition, b.records, {
          acks: 1,
          producer: { producerId: meta.producerId, producerEpoch: meta.producerEpoch, baseSequence },
          transactional: true,
          transactionalId: meta.transactionalId,
        });
        session.sequences.set(tp, baseSequence + b.records.length);
        b.indexes.forEach((i, n) => (outcomes[indexes[i] as number] = { topic: plan.topic, partition: b.partition, offset: result.baseOffset + n }));
      });
    });
    const settled = await Promise.allSettled(appends);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed === undefined) return outcomes;
    // Some batches may be in the log: the transaction cannot commit a part of the step.
    let cause: unknown = failed.reason;
    try {
      await this.coordinator.end(transactionId, false);
      this.sessions.delete(transactionId);
    } catch (err) {
      // Already ended by the coordinator (timeout, a newer session): that is the better answer.
      cause = err;
    }
    this.logger.info({ err: failed.reason, transactionId }, 'a transactional append failed; the transaction is aborted');
    throw transactionApiError(cause);
  }

  private mapped<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((err: unknown) => {
      throw transactionApiError(err);
    });
  }
}

function partitionsOf(planned: PlannedRecords): Array<{ topic: string; partition: number }> {
  return planned.plans.flatMap((p) => p.batches.map((b) => ({ topic: p.topic, partition: b.partition })));
}

function keyReused(): ApiError {
  return new ApiError('IDEMPOTENCY_KEY_REUSED', 'The Idempotency-Key was first used for a different request; nothing was done');
}
