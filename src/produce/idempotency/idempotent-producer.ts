import type { Logger } from 'pino';
import { ApiError } from '../../errors';
import type { Acks } from '../../engine/storage-engine';
import { EngineError } from '../../engine/engine-error';
import type { ProduceInput, ProduceOutcome, ProducePlan, ProduceSend, ProduceService, SendSettlement } from '../produce-service';
import { deferred, type Deferred } from '../../coordinator/group/deferred';
import { ProducerLane } from './producer-lanes';
import { decodeAssignment, encodeAssignment, encodeOutcomes, type IntentRecord } from './idempotency-records';
import { keyedReceiptId, type IdempotencyKeyStore, type KeyEntry } from './idempotency-key-store';
import { isKeyedProducerId, keyDigest, keyedProducerId } from './keyed-producer-id';

export interface KeyedProduceRequest {
  key: string;
  fingerprint: string;
  topic: string;
  records: ProduceInput[];
  acks: Acks;
  async: boolean;
}

export interface KeyedProduceRun {
  /** The outcome, shared by the first request and every repeat of its key. */
  done: Promise<ProduceOutcome[]>;
  /** True when an earlier request with this key answers this one: nothing was sent for it. */
  repeated: boolean;
  /** How the first request asked to be answered; a repeat answers the same way. */
  async: boolean;
  /** Set when `async`. */
  receiptId: string;
}

/**
 * From this many records a request writes its intent at once rather than at the end of the turn:
 * its appends then join the engine's write of this turn instead of the next one's, and a write(2)
 * costs little beside the request's own work.
 */
const INTENT_AT_ONCE_RECORDS = 100;

/**
 * Produce with an Idempotency-Key, exactly once across retries and crashes.
 *
 * A new key, on an engine that keeps a caller's producer identity: the request is sent as the key's
 * own producer (keyedProducerId: epoch 0, base sequence 0 on each partition it writes), and its
 * keyless records go to the partition the key picks, so any retry of it sends the very same batches.
 * What makes the retry safe is thus in the partition log itself, in each batch's header, written and
 * fsynced with the records: the engine answers a batch already in the log with its first offsets and
 * appends a missing one (partition A appended, B not: the retry appends B only). So nothing is
 * written before the records, and acks=all pays the partition's fsync alone. A sync request (acks 1
 * or all) writes one journal record: its outcome (fingerprint, offsets, producer id), on the journal
 * write of the turn its appends end in, and is answered once it is written (not fsynced); appends
 * that fail write the intent (fingerprint, assignment) instead, for the repeat to resume. An async
 * or acks=0 request is answered before its outcome is known: its intent rides on this turn's journal
 * write after the appends are issued, and the answer waits for that write. Where the log answers for
 * the journal: a crash before the key's first write, or a power loss before the journal's fsync,
 * leaves a key only the log knows; its retry with the same body gets the first offsets, one with
 * another body gets 42209 when its batches differ in partition or count (the engine's sequence
 * check) and the first offsets otherwise.
 *
 * Collisions: a key whose producer id another key of the table holds (see keyedProducerId), an
 * engine without caller identities, and a pending key's resume use the path below.
 *
 * Allocated lanes: plan the request, take a lane, write the intent (lane identity, each partition's
 * base sequence, the record-to-partition assignment), then send: the intent is written (it survives a
 * kill -9) before the first record is, and for acks=all also fsynced before the records are sent
 * (two fsync rounds). Once the outcome record is durable the lane goes back to the pool: until then
 * the request's batches stay the lane's last ones, which the engine remembers.
 *
 * A repeat: the same fingerprint gets the first request's outcome (waiting for it while it runs); a
 * different one is IDEMPOTENCY_KEY_REUSED (42209). A repeat of a pending key (an intent without an
 * outcome: the process died, or the engine failed in doubt) resumes it with the intent's identity and
 * sequences: batches already in the log are answered with their offsets, missing ones are appended.
 *
 * A request refused before anything was appended releases its key. On an engine without producer
 * ids the intent has no lane, and a resume after a crash may append a second time.
 */
export class IdempotentProducer {
  /** Outcome writes still running: close waits for them, so a clean stop leaves no key pending. */
  private readonly settling = new Set<Promise<void>>();
  /**
   * Sync keyed requests answered on their outcome write (runKeyedAnsweredOnOutcome), which have no
   * promise in `settling` until they fail: close waits for them too, or their outcome write would
   * meet a closed journal and a request whose records are in the log would be answered an error.
   */
  private answering = 0;
  /** What close waits on while `answering` is above 0. */
  private answeringIdle: Deferred<void> | undefined;

  constructor(
    private readonly produce: ProduceService,
    private readonly store: IdempotencyKeyStore,
    private readonly logger: Logger,
    /** Tests give one that collides. `digest`: the key's keyDigest, if the caller has it. */
    private readonly producerIdOf: (key: string, digest?: string) => number = keyedProducerId,
  ) {}

  /** Replays the key journal now (it would be on the first keyed request): it blocks while it reads. */
  start(): void {
    this.store.start();
  }

  /**
   * Resolves once this request's appends are issued, or once an earlier request with the key
   * answers it; a refusal rejects. Not async: an async function's frame and promise are work on
   * every keyed request (see `run`).
   */
  send(request: KeyedProduceRequest): Promise<KeyedProduceRun> {
    try {
      this.store.start();
      // The key's one SHA-256, for what is taken from it: the id the key table finds it by, its
      // receipt id, its own producer id.
      const digest = keyDigest(request.key);
      const entry = this.store.get(request.key, digest);
      if (entry === undefined) return this.run(this.store.begin(request.key, request.fingerprint, request.async, digest), request, undefined, digest);
      if (entry.fingerprint !== request.fingerprint) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_REUSED',
          `Idempotency-Key '${request.key}' was first used for a different request (another path, content type or body)`,
        );
      }
      const receiptId = entry.async ? keyedReceiptId(request.key, digest) : '';
      // Running first: a sync request's outcome is known before it is written, and a repeat is answered after that write too.
      if (entry.inFlight !== undefined) return Promise.resolve({ done: entry.inFlight, repeated: true, async: entry.async, receiptId });
      const outcomes = this.store.outcomesOf(entry);
      if (outcomes !== undefined) return Promise.resolve({ done: Promise.resolve(outcomes), repeated: true, async: entry.async, receiptId });
      return this.run(entry, request, entry.intent, digest);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A keyed request's receipt after this process lost it (a restart): its outcome, its running
   * request, or `pending` for a request a repeat must resume; undefined for an unknown id.
   */
  async receipt(receiptId: string): Promise<{ outcomes?: ProduceOutcome[]; running?: Promise<ProduceOutcome[]> } | 'pending' | undefined> {
    this.store.start();
    const entry = this.store.byReceiptId(receiptId);
    if (entry === undefined || !entry.async) return undefined;
    const outcomes = this.store.outcomesOf(entry);
    if (outcomes !== undefined) return { outcomes };
    if (entry.inFlight !== undefined) return { running: entry.inFlight };
    return 'pending';
  }

  async close(): Promise<void> {
    if (this.answering > 0) await (this.answeringIdle ??= deferred<void>()).promise;
    await Promise.all(this.settling);
    await this.store.close();
  }

  /**
   * `digest`: the key's keyDigest, if `send` took it. Not async, nor are `send` and `runKeyed`: each
   * async function in the chain is a frame, a promise and a few microtask jobs more per request
   * (sampled allocation per keyed request, in process: 10.2 KB with send and runKeyed async, 9.4 without).
   */
  private run(entry: KeyEntry, request: KeyedProduceRequest, resume: IntentRecord | undefined, digest: string | undefined): Promise<KeyedProduceRun> {
    const gate = deferred<ProduceOutcome[]>();
    entry.inFlight = gate.promise;
    const receiptId = entry.async ? keyedReceiptId(entry.key, digest) : '';
    const keyed = resume === undefined ? this.keyedLane(entry, digest) : undefined;
    if (keyed !== undefined) return this.runKeyed(entry, request, keyed, gate, receiptId);
    return this.runLaned(entry, request, resume, gate, receiptId);
  }

  /** A request under an allocated lane, or a pending key's resume (class comment). */
  private async runLaned(
    entry: KeyEntry,
    request: KeyedProduceRequest,
    resume: IntentRecord | undefined,
    gate: Deferred<ProduceOutcome[]>,
    receiptId: string,
  ): Promise<KeyedProduceRun> {
    let lane: ProducerLane | undefined;
    let intentTried = false;
    let sent: ProduceSend;
    try {
      const plan = await this.produce.plan(request.topic, request.records, resume === undefined ? undefined : decodeAssignment(resume.assignment));
      if (resume === undefined) {
        lane = await this.produce.lanes.acquire();
        intentTried = true;
        await this.store.writeIntent(entry, this.intentFor(entry, plan, lane), plan.recordCount >= INTENT_AT_ONCE_RECORDS);
        if (request.acks === -1) await this.store.sync();
      } else {
        lane = resumedLane(resume);
      }
      sent = this.produce.send(plan, request.acks, lane);
    } catch (err) {
      // Nothing was appended. A new key is free again; a pending one stays pending.
      entry.inFlight = undefined;
      if (resume === undefined) {
        // An intent write that failed may still have reached the disk: its lane must never serve
        // another request, or a later resume could take that request's batch for its own.
        if (lane !== undefined) {
          if (intentTried) this.produce.lanes.retire(lane);
          else this.produce.lanes.release(lane);
        }
        this.store.drop(entry);
      }
      gate.reject(err);
      throw err;
    }
    return this.answered(entry, sent.done, sent.settled, gate, request.acks, lane, resume !== undefined, receiptId);
  }

  /** The key's own producer, unless the engine cannot keep it or another key of the table holds its id. */
  private keyedLane(entry: KeyEntry, digest: string | undefined): ProducerLane | undefined {
    if (!this.produce.honoursCallerProducerIds) return undefined;
    const producerId = entry.producerId ?? this.producerIdOf(entry.key, digest);
    return this.store.claimProducerId(entry, producerId) ? new ProducerLane(producerId, 0, true) : undefined;
  }

  /**
   * A request sent as its key's own producer: appends first, the intent on this turn's journal
   * write (class comment). Not async, as `send`.
   */
  private runKeyed(
    entry: KeyEntry,
    request: KeyedProduceRequest,
    lane: ProducerLane,
    gate: Deferred<ProduceOutcome[]>,
    receiptId: string,
  ): Promise<KeyedProduceRun> {
    return this.produce.plan(request.topic, request.records, undefined, lane.producerId).then(
      (plan) => this.sendKeyed(entry, request, lane, gate, receiptId, plan),
      (err: unknown) => {
        // Refused before any append. A key a failed attempt left pending stays (its retry is resent as the same producer).
        entry.inFlight = undefined;
        if (entry.intent === undefined && entry.outcomeRuns === undefined) this.store.drop(entry);
        gate.reject(err);
        throw err;
      },
    );
  }

  /** runKeyed once the request is planned. */
  private sendKeyed(
    entry: KeyEntry,
    request: KeyedProduceRequest,
    lane: ProducerLane,
    gate: Deferred<ProduceOutcome[]>,
    receiptId: string,
    plan: ProducePlan,
  ): KeyedProduceRun | Promise<KeyedProduceRun> {
    if (!entry.async && request.acks !== 0) return this.runKeyedAnsweredOnOutcome(entry, request, lane, gate, plan);
    // Queued before the appends, so this turn's journal write usually comes before the partitions'
    // and the answer need not wait for it; the order on disk does not matter (class comment).
    const written = this.store.writeIntent(entry, this.intentFor(entry, plan, lane), plan.recordCount >= INTENT_AT_ONCE_RECORDS);
    const sent = this.produce.send(plan, request.acks, lane);
    // The answer also waits for the intent's write: an answered key survives a kill -9 in the journal
    // too, so a repeat with another body is refused (42209) rather than judged by the log alone.
    written.catch(() => undefined);
    const done = sent.done.then(
      (outcomes) => (entry.intent !== undefined ? outcomes : written.then(() => outcomes)),
      (err: unknown) => {
        throw keyReusedInLog(err, entry.key);
      },
    );
    const run = this.answered(entry, done, sent.settled, gate, request.acks, lane, false, receiptId);
    // A 202's receipt must be found after a kill -9: the intent is written before it is answered.
    return entry.async ? written.then(() => run, () => run) : run;
  }

  /**
   * A sync request under its key's own producer, with acks 1 or all: no intent is written. Once
   * the appends succeed, the outcome record (which holds the fingerprint and the producer id too)
   * goes on this turn's journal write and the request is answered after it: one record per request
   * instead of an intent and an outcome. A kill -9 before that write leaves a key only the log
   * knows, as one before an intent's write does (class comment). Appends that fail write the intent
   * then, so a repeat, also after a restart, resumes where they went.
   */
  private runKeyedAnsweredOnOutcome(
    entry: KeyEntry,
    request: KeyedProduceRequest,
    lane: ProducerLane,
    gate: Deferred<ProduceOutcome[]>,
    plan: ProducePlan,
  ): KeyedProduceRun {
    const sent = this.produce.send(plan, request.acks, lane);
    this.answering++;
    // A failed request is answered and settled as every other one; a succeeded one has nothing
    // left to settle once its outcome is written, so it skips that chain of promises. Nothing is
    // built for a failure before there is one (the success path is the one that must be cheap).
    sent.done.then(
      (outcomes) => {
        entry.outcomeRuns = encodeOutcomes(outcomes);
        this.store.writeCompletedNow(entry, (err?: unknown) => {
          if (err === undefined) {
            entry.inFlight = undefined;
            gate.resolve(outcomes);
            this.store.keep(entry);
          } else {
            void this.answered(entry, Promise.reject(err), sent.settled, gate, request.acks, lane, false, '');
          }
          this.answeredOnOutcome();
        });
      },
      (err: unknown) => {
        const reused = keyReusedInLog(err, entry.key);
        // The intent after the send is the one before it: the key's own lane is never advanced (ProducerLane `once`).
        // The failure is answered once the intent is written (or its write failed), as every keyed
        // answer waits for the key's journal record: a kill -9 right after it must not lose the key.
        const failed =
          reused === err
            ? this.store.writeIntent(entry, this.intentFor(entry, plan, lane)).then(
                () => Promise.reject(reused),
                () => Promise.reject(reused),
              )
            : Promise.reject(reused);
        void this.answered(entry, failed, sent.settled, gate, request.acks, lane, false, '');
        this.answeredOnOutcome();
      },
    );
    return { done: gate.promise, repeated: false, async: false, receiptId: '' };
  }

  /** A request of runKeyedAnsweredOnOutcome ended (after `answered` took over a failed one's settling). */
  private answeredOnOutcome(): void {
    if (--this.answering > 0) return;
    this.answeringIdle?.resolve();
    this.answeringIdle = undefined;
  }

  /** Answers the request and its repeats when `done` settles, and settles the key when the appends end. */
  private answered(
    entry: KeyEntry,
    done: Promise<ProduceOutcome[]>,
    settled: Promise<SendSettlement>,
    gate: Deferred<ProduceOutcome[]>,
    acks: Acks,
    lane: ProducerLane | undefined,
    resumed: boolean,
    receiptId: string,
  ): KeyedProduceRun {
    // The closure that lives until the outcome is written holds neither the request nor its
    // outcomes (nor the gate, which resolves with them): a batch's records would outlive its answer.
    const succeeded = answer(entry, done, gate);
    const settling = settled.then((settlement) => this.settle(entry, succeeded, acks, lane, resumed, settlement));
    this.settling.add(settling);
    void settling.finally(() => this.settling.delete(settling));
    return { done: gate.promise, repeated: false, async: entry.async, receiptId };
  }

  private intentFor(entry: KeyEntry, plan: ProducePlan, lane: ProducerLane | undefined): IntentRecord {
    const sequences: number[] = [];
    for (const b of plan.batches) sequences.push(b.partition, lane?.nextSequence(plan.topic, b.partition) ?? -1);
    return {
      type: 'intent',
      v: 0,
      fingerprint: entry.fingerprint,
      createdAt: entry.createdAt,
      async: entry.async,
      topic: plan.topic,
      producerId: lane?.producerId ?? -1,
      producerEpoch: lane?.producerEpoch ?? -1,
      assignment: encodeAssignment(plan),
      sequences,
    };
  }

  /**
   * After the appends: success makes the outcome durable, then frees the lane; a refusal frees the
   * key; a failure in doubt keeps the intent pending and retires the lane, so a repeat resumes it.
   * A key the log holds for another request (`reused`) is freed too: the table must not keep this
   * request's fingerprint for it. A key's own producer is never pooled.
   */
  private async settle(
    entry: KeyEntry,
    succeeded: Promise<Answered>,
    acks: Acks,
    lane: ProducerLane | undefined,
    resumed: boolean,
    settlement: 'ok' | 'refused' | 'unknown',
  ): Promise<void> {
    let reusable = settlement !== 'unknown' && !resumed;
    const answered = await succeeded;
    if (answered === 'reused') {
      await this.release(entry, acks);
    } else if (settlement === 'ok') {
      try {
        if (answered !== 'ok') throw new Error('the request did not succeed');
        // Under the key's own producer the log answers a retry whatever the journal lost: its
        // outcome waits for no fsync (the journal's background one comes soon after).
        await this.store.writeCompleted(entry, lane !== undefined && isKeyedProducerId(lane.producerId) ? 1 : acks);
      } catch (err) {
        reusable = false;
        this.logger.warn({ err, key: entry.key }, 'could not persist an idempotency key outcome; a repeat will resume the request');
      }
    } else if (settlement === 'refused') {
      await this.release(entry, acks);
    }
    if (lane === undefined || isKeyedProducerId(lane.producerId)) return;
    if (reusable) this.produce.lanes.release(lane);
    else this.produce.lanes.retire(lane);
  }

  private async release(entry: KeyEntry, acks: Acks): Promise<void> {
    try {
      await this.store.writeReleased(entry, acks);
    } catch (err) {
      this.logger.warn({ err, key: entry.key }, 'could not persist the release of an idempotency key');
    }
  }
}

/** How a request ended for its key: `reused` when the log holds another request under it. */
type Answered = 'ok' | 'failed' | 'reused';

/** Keeps the outcome in the entry and answers the request and its repeats; resolves with how it ended. */
function answer(entry: KeyEntry, done: Promise<ProduceOutcome[]>, gate: Deferred<ProduceOutcome[]>): Promise<Answered> {
  return done.then(
    (outcomes) => {
      entry.outcomeRuns = encodeOutcomes(outcomes);
      entry.intent = undefined;
      entry.inFlight = undefined;
      gate.resolve(outcomes);
      return 'ok' as const;
    },
    (err: unknown) => {
      entry.inFlight = undefined;
      gate.reject(err);
      return err instanceof ApiError && err.kind === 'IDEMPOTENCY_KEY_REUSED' ? ('reused' as const) : ('failed' as const);
    },
  );
}

/** Sequence answers that mean the log holds other batches of this key's producer: another request under the key. */
const OTHER_BATCHES: ReadonlySet<string> = new Set(['DUPLICATE_SEQUENCE_NUMBER', 'OUT_OF_ORDER_SEQUENCE_NUMBER']);

function keyReusedInLog(err: unknown, key: string): unknown {
  if (!(err instanceof EngineError) || !OTHER_BATCHES.has(err.code)) return err;
  return new ApiError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key '${key}' was first used for a different request (its records in the log differ); nothing was written`, {
    cause: err,
  });
}

/** A lane rebuilt from an intent: its old producer id, positioned at the intent's sequences. Retired after use. */
function resumedLane(intent: IntentRecord): ProducerLane | undefined {
  if (intent.producerId < 0) return undefined;
  const lane = new ProducerLane(intent.producerId, intent.producerEpoch);
  for (let i = 0; i < intent.sequences.length; i += 2) lane.setNextSequence(intent.topic, intent.sequences[i], intent.sequences[i + 1]);
  return lane;
}
