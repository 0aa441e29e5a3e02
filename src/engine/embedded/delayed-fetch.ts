import { EngineError, isEngineError } from '../engine-error';
import { FetchCursorPartitionResult, FetchCursorResponse, FetchPartitionResult, FetchRequest, FetchResponse, RecordCursor } from '../storage-engine';
import { BatchRecordCursor } from './batch-record-cursor';
import { JsonValueMemo } from './json-value-memo';
import { LogBatchRead, PartitionLog } from './partition-log';

type LogOf = (topic: string, partition: number) => PartitionLog | undefined;

interface ReadPass<P> {
  partitions: P[];
  bytes: number;
  hasError: boolean;
}

/** What a fetch answers per partition, built from a read of the log's batches. */
interface PartitionAnswer<P> {
  fromRead(log: PartitionLog, read: LogBatchRead): P;
  /** A partition with nothing to show: an error, or no budget left; the log's offsets where it has one, else -1. */
  nothing(topic: string, partition: number, offset: number, log: PartitionLog | undefined): P;
}

/** A fetch's answer for one partition from a read of its batches, decoded. */
export function recordsOfRead(log: PartitionLog, read: LogBatchRead): FetchPartitionResult {
  return { ...positions(log, read), records: log.decodeRead(read) };
}

const recordsAnswer: PartitionAnswer<FetchPartitionResult> = {
  fromRead: recordsOfRead,
  nothing: (topic, partition, offset, log) => ({ ...nothingRead(topic, partition, offset, log), records: [] }),
};

const cursorAnswer: PartitionAnswer<FetchCursorPartitionResult> = {
  fromRead: (log, read) => {
    const records = new BatchRecordCursor(read.batches, read.from, read.upTo, JsonValueMemo.segmentName(log.topic, log.partition, read.segmentBaseOffset));
    return { ...positions(log, read), records, empty: records.empty };
  },
  nothing: (topic, partition, offset, log) => ({ ...nothingRead(topic, partition, offset, log), records: NO_RECORDS, empty: true }),
};

function positions(log: PartitionLog, read: LogBatchRead) {
  return {
    topic: log.topic,
    partition: log.partition,
    // Past skipped control and aborted batches too, so a reader never fetches them again.
    nextOffset: read.nextOffset,
    highWatermark: log.highWatermark,
    lastStableOffset: log.lastStableOffset,
    logStartOffset: log.logStartOffset,
  };
}

function nothingRead(topic: string, partition: number, offset: number, log: PartitionLog | undefined) {
  return {
    topic,
    partition,
    nextOffset: offset,
    highWatermark: log?.highWatermark ?? -1,
    lastStableOffset: log?.lastStableOffset ?? -1,
    logStartOffset: log?.logStartOffset ?? -1,
  };
}

const NO_RECORDS: RecordCursor = new BatchRecordCursor([], 0, 0, '');

/** delayedFetch answered with cursors over the stored batches (StorageEngine.fetchCursors). */
export async function delayedCursorFetch(request: FetchRequest, logOf: LogOf): Promise<FetchCursorResponse> {
  return { partitions: await waitAndRead(request, logOf, cursorAnswer) };
}

/**
 * Kafka's DelayedFetch for the embedded engine: reads every requested partition; if fewer than
 * minBytes came back, waits for an append to one of them (the log's data listener, never a poll),
 * the maxWaitMs timer, or the abort signal, and reads again. A partition error ends the wait at
 * once, as in Kafka. Listeners are attached before the first read, so an append landing between a
 * read and the wait is not missed.
 */
export async function delayedFetch(request: FetchRequest, logOf: LogOf): Promise<FetchResponse> {
  return { partitions: await waitAndRead(request, logOf, recordsAnswer) };
}

async function waitAndRead<P>(request: FetchRequest, logOf: LogOf, answer: PartitionAnswer<P>): Promise<P[]> {
  const minBytes = request.minBytes ?? 1;
  const signal = request.signal;
  let changed = false;
  let wake: (() => void) | undefined;
  const onChange = (): void => {
    changed = true;
    wake?.();
  };
  const unsubscribes: (() => void)[] = [];
  for (const p of request.partitions) {
    const log = logOf(p.topic, p.partition);
    if (log !== undefined) unsubscribes.push(log.onData(onChange));
  }
  let expired = request.maxWaitMs <= 0;
  const expire = (): void => {
    expired = true;
    wake?.();
  };
  const timer = expired ? undefined : setTimeout(expire, request.maxWaitMs);
  signal?.addEventListener('abort', expire);
  try {
    let pass = await readAll(request, logOf, answer);
    while (pass.bytes < minBytes && !pass.hasError && !expired && signal?.aborted !== true) {
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (!changed) break;
      changed = false;
      pass = await readAll(request, logOf, answer);
    }
    return pass.partitions;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', expire);
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
}

/**
 * One pass over the partitions in request order, within the request's byte budget; the first batch
 * of the first partition with data is returned even if larger (KIP-74).
 */
async function readAll<P>(request: FetchRequest, logOf: LogOf, answer: PartitionAnswer<P>): Promise<ReadPass<P>> {
  const partitions: P[] = [];
  let bytes = 0;
  let hasError = false;
  for (const p of request.partitions) {
    const log = logOf(p.topic, p.partition);
    if (log === undefined) {
      hasError = true;
      partitions.push(withError(answer.nothing(p.topic, p.partition, p.offset, undefined), new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${p.topic}-${p.partition} not found`)));
      continue;
    }
    const budget = Math.min(p.maxBytes ?? request.maxBytes, request.maxBytes - bytes);
    try {
      if (budget > 0 || bytes === 0) {
        const read = await log.readBatches(p.offset, Math.max(budget, 0), log.highWatermark, bytes === 0, request.isolationLevel);
        bytes += read.bytes;
        partitions.push(answer.fromRead(log, read));
      } else {
        partitions.push(answer.nothing(p.topic, p.partition, p.offset, log));
      }
    } catch (err) {
      if (!isEngineError(err)) throw err;
      hasError = true;
      partitions.push(withError(answer.nothing(p.topic, p.partition, p.offset, log), err));
    }
  }
  return { partitions, bytes, hasError };
}

function withError<P>(result: P, error: EngineError): P {
  return { ...result, error };
}
