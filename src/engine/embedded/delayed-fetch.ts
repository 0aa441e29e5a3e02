import { EngineError, isEngineError } from '../engine-error';
import { FetchPartitionResult, FetchRequest, FetchResponse } from '../storage-engine';
import { PartitionLog } from './partition-log';

interface ReadPass {
  response: FetchResponse;
  bytes: number;
  hasError: boolean;
}

/**
 * Kafka's DelayedFetch for the embedded engine: reads every requested partition; if fewer than
 * minBytes came back, waits for an append to one of them (the log's data listener, never a poll),
 * the maxWaitMs timer, or the abort signal, and reads again. A partition error ends the wait at
 * once, as in Kafka. Listeners are attached before the first read, so an append landing between a
 * read and the wait is not missed.
 */
export async function delayedFetch(request: FetchRequest, logOf: (topic: string, partition: number) => PartitionLog | undefined): Promise<FetchResponse> {
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
    let pass = await readAll(request, logOf);
    while (pass.bytes < minBytes && !pass.hasError && !expired && signal?.aborted !== true) {
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (!changed) break;
      changed = false;
      pass = await readAll(request, logOf);
    }
    return pass.response;
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
async function readAll(request: FetchRequest, logOf: (topic: string, partition: number) => PartitionLog | undefined): Promise<ReadPass> {
  const partitions: FetchPartitionResult[] = [];
  let bytes = 0;
  let hasError = false;
  for (const p of request.partitions) {
    const log = logOf(p.topic, p.partition);
    if (log === undefined) {
      hasError = true;
      partitions.push(errorResult(p.topic, p.partition, p.offset, new EngineError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${p.topic}-${p.partition} not found`)));
      continue;
    }
    const budget = Math.min(p.maxBytes ?? request.maxBytes, request.maxBytes - bytes);
    try {
      const read =
        budget > 0 || bytes === 0
          ? await log.read(p.offset, Math.max(budget, 0), log.highWatermark, bytes === 0, request.isolationLevel)
          : { records: [], bytes: 0, nextOffset: p.offset };
      bytes += read.bytes;
      const last = read.records[read.records.length - 1];
      partitions.push({
        topic: p.topic,
        partition: p.partition,
        records: read.records,
        // Past skipped control and aborted batches too, so a reader never fetches them again.
        nextOffset: Math.max(read.nextOffset, last === undefined ? p.offset : last.offset + 1),
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        logStartOffset: log.logStartOffset,
      });
    } catch (err) {
      if (!isEngineError(err)) throw err;
      hasError = true;
      partitions.push({ ...errorResult(p.topic, p.partition, p.offset, err), highWatermark: log.highWatermark, lastStableOffset: log.lastStableOffset, logStartOffset: log.logStartOffset });
    }
  }
  return { response: { partitions }, bytes, hasError };
}

function errorResult(topic: string, partition: number, offset: number, error: EngineError): FetchPartitionResult {
  return { topic, partition, records: [], nextOffset: offset, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, error };
}
