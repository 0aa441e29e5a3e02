import type { Logger } from 'pino';
import { EngineError, isEngineError } from '../engine-error';
import { Acks, AppendResult, ConsumerRecord, IsolationLevel, ProducerBatchIdentity, ProducerRecord } from '../storage-engine';
import { CorruptBatchError, encodeRecordBatch, RecordBatchHeader } from './codec/record-batch';
import { decodeLogBatchRead, LogBatchRead, LogReadResult, segmentIndexFor } from './log-batch-read';
import { ScannedBatch } from './batch-scanner';
import { FileOps } from './file-ops';
import { LogConfig } from './log-config';
import { SegmentDeletedError } from './file-records';
import { LogSegment } from './log-segment';
import { JsonValueMemo, jsonValueMemo, MEMO_MIN_RECORDS } from './json-value-memo';
import { LogWriter } from './log-writer';
import { RecentBatches } from './recent-batches';
import { segmentsToDelete } from './retention';
import { answerDuplicate, BatchMetadata, incrementSequence, MAX_CALLER_PRODUCERS, ProducerStateManager } from './producer-state-manager';
import { ProducerStateSnapshotter } from './producer-state-snapshotter';
import { encodeControlBatch } from './transaction-control-record';
import { savePartitionTransactions } from './transaction-loader';
import { PartitionTransactions } from './transaction-state';

/** Kafka's producer.id.expiration.ms default: a producer idle this long is forgotten. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

export type { LogBatchRead, LogReadResult } from './log-batch-read';

export interface PartitionLogParams {
  topic: string;
  partition: number;
  dir: string;
  config: LogConfig;
  ops: FileOps;
  now: () => number;
  logger: Logger;
  /** Loaded segments in offset order, at least one; the last is the active segment. */
  segments: LogSegment[];
  logStartOffset: number;
  recoveryPoint: number;
  /** Kafka's producer.id.expiration.ms; default DEFAULT_PRODUCER_ID_EXPIRATION_MS. */
  producerIdExpirationMs?: number;
  /** The Idempotency-Key window: how long a caller-derived producer id is remembered (at most the above). */
  callerProducerIdExpirationMs?: number;
  /** The partition has had transactional batches: its transactions are rebuilt from the log at load. */
  transactional?: boolean;
}

/**
 * Kafka's UnifiedLog for one partition: its segments, offsets, reads and retention.
 *
 * Offsets are assigned synchronously in `append`, in call order, so concurrent appends keep their
 * order and offsets stay contiguous; each append becomes one record batch. The LogWriter then writes
 * queued batches together and syncs them (see log-writer.ts): the high watermark moves when a write
 * completes, the recovery point when an fsync does.
 *
 * Invariants: logStartOffset <= highWatermark <= logEndOffset (the next offset to assign); every
 * offset below highWatermark is in the files. A failed write or sync makes the partition offline
 * (KAFKA_STORAGE_ERROR) until restart: the file's state is then unknown, and recovery at start-up
 * settles it.
 *
 * Idempotent producers: an append with a producer identity is checked against the producer state
 * (see producer-state-manager.ts) in the same synchronous step that assigns offsets, so a retry is
 * recognised even while the first attempt is still queued. The state is snapshotted at each roll
 * and at close, and rebuilt by the loader at start.
 */
export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  private config: LogConfig;
  private readonly ops: FileOps;
  private readonly now: () => number;
  private readonly logger: Logger;
  private segments: LogSegment[];
  logStartOffset: number;
  /** Next offset to assign: queued appends included. */
  private logEndOffset: number;
  private offlineError: EngineError | undefined;
  private closed = false;
  private readonly dataListeners = new Set<() => void>();
  /** The newest batches, kept while fetches wait here: the fetch an append wakes reads them from memory. */
  private readonly recent = new RecentBatches();
  private readonly writer: LogWriter;
  readonly producerState: ProducerStateManager;
  readonly transactions: PartitionTransactions;
  private readonly snapshotter: ProducerStateSnapshotter;

  constructor(params: PartitionLogParams) {
    this.topic = params.topic;
    this.partition = params.partition;
    this.dir = params.dir;
    this.config = params.config;
    this.ops = params.ops;
    this.now = params.now;
    this.logger = params.logger;
    this.segments = params.segments;
    this.logEndOffset = this.activeSegment.nextOffset;
    this.logStartOffset = Math.min(Math.max(params.logStartOffset, this.segments[0].baseOffset), this.logEndOffset);
    this.writer = new LogWriter(this.ops, this.logEndOffset, params.recoveryPoint, {
      written: () => {
        this.producerState.written(this.writer.highWatermark - 1);
        this.notify();
      },
      failed: (cause) => this.goOffline(cause),
    });
    const name = `${this.topic}-${this.partition}`;
    const expirationMs = params.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    this.producerState = new ProducerStateManager(name, expirationMs, MAX_CALLER_PRODUCERS, Math.min(expirationMs, params.callerProducerIdExpirationMs ?? expirationMs));
    this.producerState.mapEndOffset = this.logEndOffset;
    this.transactions = new PartitionTransactions(this.dir, params.transactional === true);
    this.snapshotter = new ProducerStateSnapshotter(
      this.dir,
      this.producerState,
      expirationMs,
      this.logger,
      name,
    );
  }

  get highWatermark(): number {
    return this.writer.highWatermark;
  }

  /** Kafka's last stable offset: below it every transaction is decided. */
  get lastStableOffset(): number {
    return this.transactions.lastStableOffset(this.writer.highWatermark);
  }

  /** Every offset below it is fsynced. */
  get recoveryPoint(): number {
    return this.writer.recoveryPoint;
  }

  private notify(): void {
    for (const listener of this.dataListeners) {
      try {
        listener();
      } catch (err) {
        // It runs inside the log writer's drain, before the drain's appends are answered: a listener
        // that throws must not leave them unanswered and the partition stuck, nor deafen the others.
        this.logger.error({ err, topic: this.topic, partition: this.partition }, 'a data listener threw');
      }
    }
  }

  get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  get logConfig(): LogConfig {
    return this.config;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first (for tests and describe). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  setConfig(config: LogConfig): void {
    this.config = config;
    for (const s of this.segments) s.setConfig(config);
  }

  /** Bytes in the log files, queued appends excluded. */
  sizeInBytes(): number {
    let size = 0;
    for (const s of this.segments) size += s.writtenSize;
    return size;
  }

  get isOffline(): boolean {
    return this.offlineError !== undefined;
  }

  /**
   * Called when the high watermark moves (before the appends that moved it are answered) or the
   * partition goes offline. Returns the unsubscribe. A listener must not throw (one that does is
   * logged, and the drain and the other listeners go on).
   */
  onData(listener: () => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  /**
   * Assigns offsets and queues one batch; see the class comment. Rejects with RECORD_TOO_LARGE
   * before assigning anything when the batch exceeds max.message.bytes. `valuesAreJson`: the caller
   * checked every value to be null or JSON text (AppendOptions.valuesAreJson); the written batch is
   * then named in jsonValueMemo, so that json reads do not check its values again.
   */
  append(records: ProducerRecord[], acks: Acks, producer?: ProducerBatchIdentity, transactional = false, valuesAreJson = false): Promise<AppendResult> {
    if (this.offlineError !== undefined) return Promise.reject(this.offlineError);
    if (transactional && producer === undefined) return Promise.reject(new EngineError('INVALID_REQUEST', 'A transactional append needs a producer id and epoch'));
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'The storage engine is closed'));
    const count = records.length;
    if (count === 0) return Promise.reject(new EngineError('INVALID_REQUEST', 'An append needs at least one record'));
    const now = this.now();
    if (producer !== undefined) {
      let duplicate: BatchMetadata | undefined;
      try {
        duplicate = this.producerState.check(producer.producerId, producer.producerEpoch, producer.baseSequence, count, now);
      } catch (err) {
        return Promise.reject(err);
      }
      if (duplicate !== undefined) return answerDuplicate(this, duplicate, acks);
    }
    const logAppendTime = this.config.timestampType === 'LogAppendTime';
    let maxTimestamp = -1;
    let missingTimestamp = false;
    for (let i = 0; i < count; i++) {
      const ts = records[i].timestamp;
      if (ts === undefined) missingTimestamp = true;
      else if (ts > maxTimestamp) maxTimestamp = ts;
    }
    if (missingTimestamp && now > maxTimestamp) maxTimestamp = now;
    if (logAppendTime) maxTimestamp = now;
    const baseOffset = this.logEndOffset;
    let buffer: Buffer;
    try {
      buffer = encodeRecordBatch(records, {
        baseOffset,
        timestampType: this.config.timestampType,
        logAppendTime: now,
        defaultTimestamp: now,
        compression: this.config.compression,
        ...producer,
        isTransactional: transactional,
      });
    } catch (err) {
      // A codec that cannot load keeps its own code (UNSUPPORTED_COMPRESSION_TYPE).
      return Promise.reject(isEngineError(err) ? err : new EngineError('INVALID_RECORD', (err as Error).message, { cause: err }));
    }
    if (buffer.length > this.config.maxMessageBytes) {
      return Promise.reject(
        new EngineError(
          'RECORD_TOO_LARGE',
          `The record batch is ${buffer.length} bytes, larger than max.message.bytes (${this.config.maxMessageBytes}) of ${this.topic}`,
        ),
      );
    }
    const lastOffset = baseOffset + count - 1;
    const promise = this.enqueueBatch(buffer, baseOffset, lastOffset, maxTimestamp, acks, now, valuesAreJson && count >= MEMO_MIN_RECORDS);
    if (transactional) this.transactions.onTransactionalBatch(producer!.producerId, producer!.producerEpoch, baseOffset);
    if (producer !== undefined) {
      const batch: BatchMetadata = {
        firstSeq: producer.baseSequence,
        lastSeq: incrementSequence(producer.baseSequence, count - 1),
        firstOffset: baseOffset,
        lastOffset,
        timestamp: maxTimestamp,
        written: promise,
        acks,
      };
      promise.catch(noop);
      this.producerState.update(producer.producerId, producer.producerEpoch, batch, now);
    } else {
      this.producerState.mapEndOffset = lastOffset + 1;
    }
    return promise;
  }

  /** Places an encoded batch in the active segment (rolling first if due) and queues its write; `remember`: name it in jsonValueMemo once written. */
  private enqueueBatch(buffer: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number, acks: Acks, now: number, remember = false): Promise<AppendResult> {
    let segment = this.activeSegment;
    if (segment.shouldRoll(buffer.length, lastOffset, maxTimestamp, now)) segment = this.roll(baseOffset, now);
    const position = segment.append(buffer.length, lastOffset, maxTimestamp);
    this.logEndOffset = lastOffset + 1;
    if (this.dataListeners.size > 0) this.recent.add(buffer, baseOffset, lastOffset, position);
    else this.recent.clear();
    const result: AppendResult = {
      topic: this.topic,
      partition: this.partition,
      baseOffset,
      lastOffset,
      timestamp: maxTimestamp,
      logStartOffset: this.logStartOffset,
    };
    const promise = new Promise<AppendResult>((resolve, reject) => {
      const done = remember
        ? () => {
            jsonValueMemo.add(JsonValueMemo.keyOfWritten(JsonValueMemo.segmentName(this.topic, this.partition, segment.baseOffset), position, baseOffset, buffer));
            resolve(result);
          }
        : () => resolve(result);
      this.writer.enqueue({ segment, buffer, position, lastOffset, acks, done, fail: reject });
    });
    // acks=0 callers may drop the promise; a later disk error must not become an unhandled rejection.
    if (acks === 0) promise.catch(noop);
    return promise;
  }

  /**
   * Kafka's WriteTxnMarkers for this partition: appends the control batch that ends the producer's
   * transaction (if one is open here the last stable offset moves past it once written; an abort
   * becomes an aborted-transaction entry) and resolves once it is fsynced. A marker of an epoch
   * older than the producer's is fenced (PRODUCER_FENCED); a newer epoch becomes the producer's, so
   * late appends of the fenced session are refused.
   */
  writeTxnMarker(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<AppendResult> {
    if (this.offlineError !== undefined) return Promise.reject(this.offlineError);
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'The storage engine is closed'));
    const entry = this.producerState.entry(producerId);
    if (entry !== undefined && producerEpoch < entry.producerEpoch) {
      return Promise.reject(
        new EngineError('PRODUCER_FENCED', `Producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${entry.producerEpoch} on ${this.topic}-${this.partition}`),
      );
    }
    const now = this.now();
    const baseOffset = this.logEndOffset;
    const buffer = encodeControlBatch({ baseOffset, producerId, producerEpoch, commit, coordinatorEpoch, timestamp: now, timestampType: this.config.timestampType });
    const promise = this.enqueueBatch(buffer, baseOffset, baseOffset, now, -1, now);
    if (entry === undefined) this.producerState.update(producerId, producerEpoch, { firstSeq: -1, lastSeq: -1, firstOffset: baseOffset, lastOffset: baseOffset, timestamp: now }, now);
    else if (producerEpoch > entry.producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
    }
    this.producerState.mapEndOffset = baseOffset + 1;
    this.transactions.onMarker(producerId, commit, baseOffset);
    return promise;
  }

  /**
   * Visits the header of every batch from the one holding `from` to the high watermark, in offset
   * order (the producer state rebuild).
   */
  async forEachBatch(from: number, visit: (header: RecordBatchHeader, batch: ScannedBatch) => void): Promise<void> {
    let offset = from;
    const end = this.highWatermark;
    for (let i = segmentIndexFor(this.segments, offset); i < this.segments.length && offset < end; i++) {
      for (;;) {
        const read = await this.segments[i].read(offset, 1 << 20, true);
        if (read.batches.length === 0) break;
        for (const batch of read.batches) {
          if (batch.header.lastOffset < offset) continue;
          visit(batch.header, batch);
          offset = batch.header.lastOffset + 1;
        }
      }
    }
  }

  private roll(baseOffset: number, now: number): LogSegment {
    const old = this.activeSegment;
    old.onBecomeInactive();
    this.writer.segmentRolled(old);
    const segment = LogSegment.create(this.dir, baseOffset, this.config, this.ops, now);
    this.segments.push(segment);
    void this.snapshotter.take(baseOffset, now);
    this.logger.debug({ topic: this.topic, partition: this.partition, baseOffset, previousSize: old.size }, 'rolled segment');
    return segment;
  }

  /** Marks the partition offline and returns the error appends and reads now get. */
  private goOffline(cause: unknown): EngineError {
    if (this.offlineError === undefined) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.offlineError = new EngineError('KAFKA_STORAGE_ERROR', `Partition ${this.topic}-${this.partition} is offline after a disk error: ${reason}`, {
        cause,
      });
      this.logger.error({ err: cause, topic: this.topic, partition: this.partition }, 'partition offline after a disk error');
      this.notify();
    }
    return this.offlineError;
  }

  private assertReadable(): void {
    if (this.offlineError !== undefined) throw this.offlineError;
  }

  private outOfRange(offset: number): EngineError {
    return new EngineError(
      'OFFSET_OUT_OF_RANGE',
      `Offset ${offset} is out of range for ${this.topic}-${this.partition}: log start offset ${this.logStartOffset}, high watermark ${this.highWatermark}`,
    );
  }

  /**
   * Records from `offset` below `upTo` (the high watermark unless a lower bound is given) within
   * about `maxBytes`; at least one batch when `minOneBatch`. A fetch at the high watermark is valid
   * and returns nothing; below the log start offset or above the high watermark is
   * OFFSET_OUT_OF_RANGE.
   */
  async read(offset: number, maxBytes: number, upTo = this.highWatermark, minOneBatch = true, isolation: IsolationLevel = 'read_uncommitted'): Promise<LogReadResult> {
    const read = await this.readBatches(offset, maxBytes, upTo, minOneBatch, isolation);
    return { records: this.decodeRead(read), bytes: read.bytes, nextOffset: read.nextOffset };
  }

  /** The records of a readBatches result, decoded; a batch that cannot be decoded is CORRUPT_MESSAGE. */
  decodeRead(read: LogBatchRead): ConsumerRecord[] {
    return decodeLogBatchRead(this.topic, this.partition, read);
  }

  /**
   * What `read` reads, as the stored batches themselves: the records of `batches` in [from, upTo)
   * are exactly the records `read` returns, so a reader may walk the bytes instead of decoding.
   */
  async readBatches(offset: number, maxBytes: number, upTo = this.highWatermark, minOneBatch = true, isolation: IsolationLevel = 'read_uncommitted'): Promise<LogBatchRead> {
    for (let attempt = 0; ; attempt++) {
      try {
        const committed = isolation === 'read_committed';
        return await this.readOnce(offset, maxBytes, Math.min(upTo, committed ? this.lastStableOffset : this.highWatermark), minOneBatch, committed);
      } catch (err) {
        // Retention deleted the segment under the read: the offset is now below the log start.
        if (!(err instanceof SegmentDeletedError) || attempt > 0) throw err;
      }
    }
  }

  /**
   * What readBatches reads (at least one batch), synchronously, when that needs no file: there is
   * nothing to read yet, or the batches at `offset` are among the newest ones still in memory.
   * Undefined when readBatches must answer (the file, an error). A data listener may call it while
   * the appends that woke it are not yet answered.
   */
  readRecentBatches(offset: number, maxBytes: number, isolation: IsolationLevel): LogBatchRead | undefined {
    if (this.offlineError !== undefined || offset < this.logStartOffset || offset > this.highWatermark) return undefined;
    const committed = isolation === 'read_committed';
    const upTo = committed ? this.lastStableOffset : this.highWatermark;
    if (offset >= upTo) return emptyRead(offset, upTo);
    const read = this.recent.read(offset, maxBytes, true);
    if (read === undefined) return undefined;
    return this.readResult(read.batches, read.bytes, offset, upTo, committed, this.segments[segmentIndexFor(this.segments, offset)].baseOffset);
  }

  /** `committed`: Kafka's read_committed, batches of aborted transactions are skipped (the caller bounds `upTo` by the last stable offset). */
  private async readOnce(offset: number, maxBytes: number, upTo: number, minOneBatch: boolean, committed: boolean): Promise<LogBatchRead> {
    this.assertReadable();
    if (offset < this.logStartOffset || offset > this.highWatermark) throw this.outOfRange(offset);
    if (offset >= upTo) return emptyRead(offset, upTo);
    const segments = this.segments;
    for (let i = segmentIndexFor(segments, offset); i < segments.length && segments[i].baseOffset < upTo; i++) {
      const read = this.recent.read(offset, maxBytes, minOneBatch) ?? (await segments[i].read(offset, maxBytes, minOneBatch));
      if (read.batches.length === 0) {
        if (read.stop === 'corrupt' || read.stop === 'torn') {
          throw new EngineError('CORRUPT_MESSAGE', `Corrupt record batch in ${this.topic}-${this.partition} segment ${segments[i].baseOffset}`);
        }
        continue;
      }
      return this.readResult(read.batches, read.bytes, offset, upTo, committed, segments[i].baseOffset);
    }
    return emptyRead(offset, upTo);
  }

  /** The batches read from `offset` below `upTo`, less control batches and (committed) aborted ones. */
  private readResult(read: ScannedBatch[], bytes: number, offset: number, upTo: number, committed: boolean, segmentBaseOffset: number): LogBatchRead {
    const batches: ScannedBatch[] = [];
    let nextOffset = offset;
    for (const batch of read) {
      const header = batch.header;
      if (header.baseOffset >= upTo) break;
      nextOffset = Math.max(nextOffset, Math.min(header.lastOffset + 1, upTo));
      if (header.isControl) continue;
      if (committed && header.isTransactional && this.transactions.isAborted(header.producerId, header.baseOffset)) continue;
      batches.push(batch);
    }
    return { batches, bytes, nextOffset, from: offset, upTo, segmentBaseOffset };
  }

  /** First offset whose record timestamp is >= `timestamp`, below the high watermark; undefined if none. */
  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | undefined> {
    this.assertReadable();
    const upTo = this.highWatermark;
    for (const segment of [...this.segments]) {
      if (segment.baseOffset >= upTo) break;
      if ((await segment.largestTimestamp()) < timestamp) continue;
      const found = await segment.findOffsetByTimestamp(timestamp, this.logStartOffset, upTo).catch((err: unknown) => {
        if (!(err instanceof CorruptBatchError)) throw err;
        throw new EngineError('CORRUPT_MESSAGE', `Corrupt record batch in ${this.topic}-${this.partition} segment ${segment.baseOffset}: ${err.message}`, { cause: err });
      });
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * Retention: deletes whole inactive segments past retention.ms (by their largest timestamp) and,
   * while the log stays at least retention.bytes without them, the oldest ones. The log start
   * offset moves to the first remaining segment. Returns how many segments went.
   */
  async deleteOldSegments(): Promise<number> {
    if (this.offlineError !== undefined || this.closed) return 0;
    // Rolled segments are flushed in the background; a pass right after a roll waits for that.
    await this.writer.whenSynced();
    // Only whole segments below the high watermark, already flushed: never the active one.
    const inactive: LogSegment[] = [];
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i];
      if (this.segments[i + 1].baseOffset > this.highWatermark || !this.writer.isFlushed(s)) break;
      inactive.push(s);
    }
    const doomed = await segmentsToDelete(inactive, this.config, this.now(), this.sizeInBytes());
    if (doomed.length === 0) return 0;
    this.segments = this.segments.slice(doomed.length);
    this.logStartOffset = Math.max(this.logStartOffset, this.segments[0].baseOffset);
    this.transactions.dropBefore(this.logStartOffset);
    for (const s of doomed) await s.delete();
    this.logger.info(
      { topic: this.topic, partition: this.partition, segments: doomed.length, logStartOffset: this.logStartOffset },
      'retention deleted segments',
    );
    return doomed.length;
  }

  /** Everything written and fsynced: the recovery point reaches the high watermark. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Writes what is queued, fsyncs, persists the indexes and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    let error: unknown;
    try {
      await this.flush();
    } catch (err) {
      error = err;
    }
    // The snapshot at the log end spares the next start a replay.
    if (error === undefined && this.offlineError === undefined) {
      await this.snapshotter.take(this.logEndOffset, this.now());
      // Without it the next start replays the partition's transactions from the log: slower, never wrong.
      await savePartitionTransactions(this, this.logEndOffset).catch((err: unknown) => this.logger.warn({ err, topic: this.topic, partition: this.partition }, 'could not save transaction state'));
    }
    await this.snapshotter.whenIdle();
    for (const s of this.segments) await s.close(error === undefined);
    // Waiting fetches learn at once that the partition is gone rather than at their timeout.
    this.notify();
    this.dataListeners.clear();
    this.recent.clear();
    if (error !== undefined && !isEngineError(error)) throw error;
  }
}

function noop(): void {}

/** A read that found nothing at `offset`: it is at `upTo` or past it, or no segment had a batch there. */
function emptyRead(offset: number, upTo: number): LogBatchRead {
  return { batches: [], bytes: 0, nextOffset: offset, from: offset, upTo, segmentBaseOffset: -1 };
}
