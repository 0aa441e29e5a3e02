import { EngineError } from '../engine-error';
import { CALLER_PRODUCER_ID_BASE, incrementSequence, type Acks, type AppendResult } from '../storage-engine';
import { CallerProducers } from './producer-state-callers';

/** What `answerDuplicate` needs of the partition log. */
export interface DuplicateAnswerer {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  /** Every offset below it is fsynced. */
  readonly recoveryPoint: number;
  flush(): Promise<void>;
}

/**
 * A retried batch: nothing is appended, the answer is the first append's offsets once they are as
 * durable as this request's acks ask (the first attempt may have asked for less, or still be queued).
 */
export function answerDuplicate(log: DuplicateAnswerer, batch: BatchMetadata, acks: Acks): Promise<AppendResult> {
  const result: AppendResult = {
    topic: log.topic,
    partition: log.partition,
    baseOffset: batch.firstOffset,
    lastOffset: batch.lastOffset,
    timestamp: batch.timestamp,
    logStartOffset: log.logStartOffset,
    duplicate: true,
  };
  if (acks === 0) return Promise.resolve(result);
  const written = batch.written ?? Promise.resolve();
  const synced = acks === -1 && batch.acks !== -1 && log.recoveryPoint <= batch.lastOffset;
  return written.then(() => (synced ? log.flush() : undefined)).then(() => result);
}

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: the batches per producer a retry is matched against. */
export const NUM_BATCHES_TO_RETAIN = 5;
/**
 * Most producers with caller-derived ids (one per Idempotency-Key) a partition remembers; past it the
 * oldest are forgotten. Above the key table's default bound (200,000 keys), so the engine forgets a
 * key's producer after the table forgot the key. About 47 snapshot bytes each.
 */
export const MAX_CALLER_PRODUCERS = 250_000;
const DAY_MS = 86_400_000;
const INT32_MAX = 0x7fff_ffff;
const SEQUENCE_SPACE = INT32_MAX + 1;

/** One appended batch of a producer, as the state remembers it. */
export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** The batch's max timestamp: what its append answered. */
  timestamp: number;
  /** In memory only, for batches appended by this process: the append's own promise and acks. */
  written?: Promise<AppendResult>;
  acks?: Acks;
}

export interface ProducerStateEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN, sequences contiguous. */
  batches: BatchMetadata[];
  /** Append time of the producer's last batch (its max timestamp when replayed from the log): expiry is measured from it. */
  lastTimestamp: number;
}

export { incrementSequence };

/**
 * Kafka's ProducerStateManager for one partition: for each idempotent producer id, its epoch and
 * the metadata of its last NUM_BATCHES_TO_RETAIN batches (sequence range and offsets).
 *
 * Rules, as Kafka's ProducerAppendInfo: a batch whose sequence range equals a remembered one of the
 * same epoch is a duplicate, answered with that batch's offsets; otherwise its first sequence must
 * follow the producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER for a gap, DUPLICATE_SEQUENCE_NUMBER
 * for a range already passed but no longer remembered); an older epoch is fenced
 * (INVALID_PRODUCER_EPOCH); a newer epoch starts again at sequence 0. A producer the partition does
 * not know (new, or expired) may start at any sequence.
 *
 * Producers with caller-derived ids (CALLER_PRODUCER_ID_BASE and up: one per Idempotency-Key,
 * usually one batch each) are kept apart, oldest first: past MAX_CALLER_PRODUCERS, or idle longer
 * than the expiration, the oldest go as new ones come, rather than only when a snapshot is taken,
 * so a stream of keyed requests keeps the state bounded between segment rolls. They are kept in
 * typed arrays rather than an object each (producer-state-callers.ts).
 *
 * Invariant: the state covers exactly the batches below `mapEndOffset`. The log is the truth: the
 * state is snapshotted (producer-state-snapshot.ts) and rebuilt at start by loading the latest
 * snapshot and replaying the batches after it (producer-state-loader.ts).
 */
export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerStateEntry>();
  /** Producers with caller-derived ids, in the order they were first seen. */
  private readonly callers: CallerProducers;
  /** One past the last offset the state has seen. */
  mapEndOffset = 0;

  /**
   * `callerExpirationMs`: how long a caller-derived producer is remembered, the Idempotency-Key
   * window (at most `expirationMs`). Past it the id answers as a new producer even before the entry
   * is removed: a key reused after its window is a new request, never a duplicate of the old one.
   */
  constructor(
    private readonly name: string,
    expirationMs = DAY_MS,
    maxCallerProducers = MAX_CALLER_PRODUCERS,
    private readonly callerExpirationMs = expirationMs,
  ) {
    this.callers = new CallerProducers(maxCallerProducers);
  }

  get producerCount(): number {
    return this.producers.size + this.callers.count;
  }

  /** The producer's state; the caller may change its epoch and batches. */
  entry(producerId: number): ProducerStateEntry | undefined {
    return producerId >= CALLER_PRODUCER_ID_BASE ? this.callers.entry(producerId) : this.producers.get(producerId);
  }

  /** The partition's appends up to `lastOffset` are written: caller producers let go of their promises. */
  written(lastOffset: number): void {
    this.callers.writtenUpTo(lastOffset);
  }

  *entries(): IterableIterator<ProducerStateEntry> {
    yield* this.producers.values();
    yield* this.callers.entries();
  }

  /**
   * Checks a batch about to be appended. Returns the remembered batch when it is a duplicate,
   * undefined when it may be appended; throws an EngineError when it must be refused.
   */
  check(producerId: number, producerEpoch: number, baseSequence: number, count: number, now: number): BatchMetadata | undefined {
    if (!Number.isSafeInteger(producerId) || producerId < 0 || !(producerEpoch >= 0 && producerEpoch <= 0x7fff)) {
      throw new EngineError('INVALID_REQUEST', `Invalid producer id ${producerId} or epoch ${producerEpoch}`);
    }
    if (!Number.isInteger(baseSequence) || baseSequence < 0 || baseSequence > INT32_MAX) {
      throw new EngineError('INVALID_REQUEST', `Invalid base sequence ${baseSequence}`);
    }
    const entry = producerId >= CALLER_PRODUCER_ID_BASE ? this.callers.peek(producerId) : this.producers.get(producerId);
    if (entry === undefined) return undefined;
    if (producerId >= CALLER_PRODUCER_ID_BASE && now - entry.lastTimestamp > this.callerExpirationMs) {
      this.callers.delete(producerId);
      return undefined;
    }
    if (producerEpoch < entry.producerEpoch) {
      throw new EngineError(
        'INVALID_PRODUCER_EPOCH',
        `Producer ${producerId} epoch ${producerEpoch} is older than the current epoch ${entry.producerEpoch} on ${this.name}`,
      );
    }
    if (producerEpoch > entry.producerEpoch) {
      if (baseSequence !== 0) {
        throw new EngineError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} starts epoch ${producerEpoch} at sequence ${baseSequence}, not 0, on ${this.name}`);
      }
      return undefined;
    }
    const lastSequence = incrementSequence(baseSequence, count - 1);
    for (const b of entry.batches) if (b.firstSeq === baseSequence && b.lastSeq === lastSequence) return b;
    const last = entry.batches[entry.batches.length - 1];
    if (last === undefined) return undefined;
    const expected = incrementSequence(last.lastSeq, 1);
    if (baseSequence === expected) return undefined;
    // Behind the last sequence by less than half the int32 space: already appended (modular, as sequences wrap).
    const behind = (last.lastSeq - lastSequence + SEQUENCE_SPACE) % SEQUENCE_SPACE;
    if (behind < SEQUENCE_SPACE / 2) {
      throw new EngineError(
        'DUPLICATE_SEQUENCE_NUMBER',
        `Producer ${producerId} sequences ${baseSequence}..${lastSequence} were appended before the last ${NUM_BATCHES_TO_RETAIN} batches on ${this.name}; their offsets are no longer known`,
      );
    }
    throw new EngineError(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      `Producer ${producerId} sent sequence ${baseSequence}, expected ${expected}, on ${this.name}`,
    );
  }

  /** Records an appended batch (checked before, or replayed from the log). */
  update(producerId: number, producerEpoch: number, batch: BatchMetadata, appendTime: number): void {
    if (producerId >= CALLER_PRODUCER_ID_BASE) {
      this.callers.update(producerId, producerEpoch, batch, appendTime, NUM_BATCHES_TO_RETAIN, this.callerExpirationMs);
      if (batch.lastOffset + 1 > this.mapEndOffset) this.mapEndOffset = batch.lastOffset + 1;
      return;
    }
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { producerId, producerEpoch, batches: [], lastTimestamp: appendTime };
      this.producers.set(producerId, entry);
    } else if (producerEpoch !== entry.producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
    }
    entry.batches.push(batch);
    if (entry.batches.length > NUM_BATCHES_TO_RETAIN) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, appendTime);
    if (batch.lastOffset + 1 > this.mapEndOffset) this.mapEndOffset = batch.lastOffset + 1;
  }

  /** Replays one batch found in the log; batches without a producer id only move the end offset. */
  replay(header: { producerId: number; producerEpoch: number; baseSequence: number; baseOffset: number; lastOffset: number; recordCount: number; maxTimestamp: number; isControl: boolean }): void {
    if (header.producerId >= 0 && !header.isControl && header.baseSequence >= 0) {
      const lastSeq = incrementSequence(header.baseSequence, Math.max(0, header.recordCount - 1));
      const batch: BatchMetadata = {
        firstSeq: header.baseSequence,
        lastSeq,
        firstOffset: header.baseOffset,
        lastOffset: header.lastOffset,
        timestamp: header.maxTimestamp,
      };
      this.update(header.producerId, header.producerEpoch, batch, header.maxTimestamp);
    }
    if (header.lastOffset + 1 > this.mapEndOffset) this.mapEndOffset = header.lastOffset + 1;
  }

  /** Kafka's producer.id.expiration.ms: forgets producers idle longer than `expirationMs` (callers: than their own window, if shorter). */
  removeExpired(now: number, expirationMs: number): number {
    let removed = this.callers.removeExpired(now, Math.min(expirationMs, this.callerExpirationMs));
    for (const [id, entry] of this.producers) {
      if (now - entry.lastTimestamp > expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Replaces the whole state, as loaded from a snapshot taken at `offset`. */
  restore(entries: ProducerStateEntry[], offset: number): void {
    this.producers.clear();
    this.callers.clear();
    for (const e of entries) {
      if (e.producerId >= CALLER_PRODUCER_ID_BASE) this.callers.restore(e);
      else this.producers.set(e.producerId, e);
    }
    this.mapEndOffset = offset;
  }

  clear(offset: number): void {
    this.restore([], offset);
  }
}
