import assert from 'node:assert/strict';
import { isEngineError, type EngineErrorCode } from '../../src/engine/engine-error';
import type { ConsumerRecord, FetchPartitionResult, ProducerRecord, RecordHeader, StorageEngine } from '../../src/engine/storage-engine';

/** A realistic CreateTime base (Kafka rejects 0 and negative timestamps; kafkajs treats 0 as "now"). */
export const T0 = 1_700_000_000_000;

export function record(value: string | null, options: { key?: string | null; headers?: RecordHeader[]; timestamp?: number } = {}): ProducerRecord {
  return {
    key: options.key === undefined || options.key === null ? null : Buffer.from(options.key),
    value: value === null ? null : Buffer.from(value),
    headers: options.headers,
    timestamp: options.timestamp,
  };
}

export function text(buffer: Buffer | null): string | null {
  return buffer === null ? null : buffer.toString('utf8');
}

/** Asserts that `promise` rejects with an EngineError of `code`; returns it for further checks. */
export async function rejectsWith(promise: Promise<unknown>, code: EngineErrorCode) {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(isEngineError(caught), `expected an EngineError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** One partition's fetch with no waiting. */
export async function fetchOne(engine: StorageEngine, topic: string, partition: number, offset: number, maxBytes = 1 << 20): Promise<FetchPartitionResult> {
  const response = await engine.fetch({ partitions: [{ topic, partition, offset }], maxBytes, maxWaitMs: 0, isolationLevel: 'read_uncommitted' });
  assert.equal(response.partitions.length, 1);
  return response.partitions[0];
}

/** Every record from `from` to the high watermark, fetching as many times as needed (bounded). */
export async function readAll(engine: StorageEngine, topic: string, partition: number, from = 0): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  let offset = from;
  for (let round = 0; round < 100; round++) {
    const result = await fetchOne(engine, topic, partition, offset);
    assert.equal(result.error, undefined, `fetch ${topic}-${partition}@${offset} failed: ${result.error?.message}`);
    out.push(...result.records);
    if (result.records.length === 0 || result.nextOffset >= result.highWatermark) return out;
    offset = result.nextOffset;
  }
  throw new Error(`readAll: ${topic}-${partition} did not end within 100 fetches`);
}
