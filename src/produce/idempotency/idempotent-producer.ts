import type { Logger } from 'pino';
import { ApiError } from '../../errors';
import type { Acks } from '../../engine/storage-engine';
import type { ProduceInput, ProduceOutcome, ProducePlan, ProduceSend, ProduceService } from '../produce-service';
import { deferred, type Deferred } from '../../coordinator/group/deferred';
import { ProducerLane } from './producer-lanes';
import { decodeAssignment, encodeAssignment, encodeOutcomes, type IntentRecord } from './idempotency-records';
import { keyedReceiptId, type IdempotencyKeyStore, type KeyEntry } from './idempotency-key-store';

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
 * A new key: plan the request, take a lane, write the intent (lane identity, each partition's base
 * sequence, the record-to-partition assignment), then send: the intent is written (it survives a
 * kill -9) before the first record is. For acks=all the intent is also fsynced (the journal's group
 * commit) before the records are sent: the kernel may write the records' pages back at any moment,
 * and were they on disk after a power loss without their intent, a retry of that unanswered request
 * would append them again. So a keyed acks=all request pays two fsync rounds in a row.
 *
 * After success the completed record is written, and only once it is durable does the lane go back
 * to the pool: until then the request's batches stay the lane's last ones, which the engine
 * remembers.
 *
 * A repeat: the same fingerprint gets the first request's outcome (waiting for it while it runs); a
 * different one is IDEMPOTENCY_KEY_REUSED (42209). A repeat of a pending key (an intent without an
 * outcome: the process died, or the engine failed in doubt) resumes it with the intent's lane and
 * sequences: batches already in the log are answered with their offsets, missing ones are appended.
 * Nothing else is ever needed from the log, however long it is.
 *
 * A request refused before anything was appended releases its key. On an engine without producer
 * ids (kafka) the intent has no lane, and a resume after a crash may append a second time.
 */
export class IdempotentProducer {
  /** Outcome writes still running: close waits for them, so a clean stop leaves no key pending. */
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly produce: ProduceService,
    private readonly store: IdempotencyKeyStore,
    private readonly logger: Logger,
  ) {}

  /** Replays the key journal now (it would be on the first keyed request): it blocks while it reads. */
  start(): void {
    this.store.start();
  }

  /** Resolves once this request's appends are issued, or once an earlier request with the key answers it. */
  async send(request: KeyedProduceRequest): Promise<KeyedProduceRun> {
    this.store.start();
    const entry = this.store.get(request.key);
    if (entry === undefined) return this.run(this.store.begin(request.key, request.fingerprint, request.async), request, undefined);
    if (entry.fingerprint !== request.fingerprint) {
      throw new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key '${request.key}' was first used for a different request (another path, content type or body)`,
      );
    }
    const receiptId = entry.async ? keyedReceiptId(request.key) : '';
    const outcomes = this.store.outcomesOf(entry);
    if (outcomes !== undefined) return { done: Promise.resolve(outcomes), repeated: true, async: entry.async, receiptId };
    if (entry.inFlight !== undefined) return { done: entry.inFlight, repeated: true, async: entry.async, receiptId };
    return this.run(entry, request, entry.intent);
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
    await Promise.all(this.settling);
    await this.store.close();
  }

  private async run(entry: KeyEntry, request: KeyedProduceRequest, resume: IntentRecord | undefined): Promise<KeyedProduceRun> {
    const gate = deferred<ProduceOutcome[]>();
    entry.inFlight = gate.promise;
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
    const done = sent.done;
    // The closure that lives until the outcome is written holds neither the request nor its
    // outcomes (nor the gate, which resolves with them): a batch's records would outlive its answer.
    const succeeded = answer(entry, done, gate);
    const acks = request.acks;
    const resumed = resume !== undefined;
    const settling = sent.settled.then((settlement) => this.settle(entry, succeeded, acks, lane, resumed, settlement));
    this.settling.add(settling);
    void settling.finally(() => this.settling.delete(settling));
    return { done: gate.promise, repeated: false, async: entry.async, receiptId: entry.async ? keyedReceiptId(entry.key) : '' };
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
   */
  private async settle(
    entry: KeyEntry,
    succeeded: Promise<boolean>,
    acks: Acks,
    lane: ProducerLane | undefined,
    resumed: boolean,
    settlement: 'ok' | 'refused' | 'unknown',
  ): Promise<void> {
    let reusable = settlement !== 'unknown' && !resumed;
    if (settlement === 'ok') {
      try {
        if (!(await succeeded)) throw new Error('the request did not succeed');
        await this.store.writeCompleted(entry, acks);
      } catch (err) {
        reusable = false;
        this.logger.warn({ err, key: entry.key }, 'could not persist an idempotency key outcome; a repeat will resume the request');
      }
    } else if (settlement === 'refused') {
      await this.release(entry, acks);
    }
    if (lane === undefined) return;
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

/** Keeps the outcome in the entry and answers the request and its repeats; resolves with whether it succeeded. */
function answer(entry: KeyEntry, done: Promise<ProduceOutcome[]>, gate: Deferred<ProduceOutcome[]>): Promise<boolean> {
  return done.then(
    (outcomes) => {
      entry.outcomeRuns = encodeOutcomes(outcomes);
      entry.intent = undefined;
      entry.inFlight = undefined;
      gate.resolve(outcomes);
      return true;
    },
    (err: unknown) => {
      entry.inFlight = undefined;
      gate.reject(err);
      return false;
    },
  );
}

/** A lane rebuilt from an intent: its old producer id, positioned at the intent's sequences. Retired after use. */
function resumedLane(intent: IntentRecord): ProducerLane | undefined {
  if (intent.producerId < 0) return undefined;
  const lane = new ProducerLane(intent.producerId, intent.producerEpoch);
  for (let i = 0; i < intent.sequences.length; i += 2) lane.setNextSequence(intent.topic, intent.sequences[i], intent.sequences[i + 1]);
  return lane;
}
