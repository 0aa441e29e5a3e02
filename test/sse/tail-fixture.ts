import type { TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import type { EngineError } from '../../src/engine/engine-error';
import type { StorageEngine } from '../../src/engine/storage-engine';
import { SharedPartitionReaders } from '../../src/sse/shared-partition-readers';
import { PartitionFeed, type FeedSink } from '../../src/sse/partition-feed';
import type { PartitionTailOptions } from '../../src/sse/partition-tail';
import type { SharedRecord } from '../../src/sse/shared-record';
import { eventually } from './live-app';

/** A started embedded engine in a temp dir, with a count of the fetches made through it. */
export async function engineWithFetchCount(t: TestContext): Promise<{ engine: StorageEngine; fetches: () => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'basket-sse-tail-'));
  const real = new EmbeddedEngine({ dataDir: dir }, pino({ level: 'silent' }));
  await real.start();
  t.after(async () => {
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let fetches = 0;
  const engine = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'fetch') {
        return (...args: Parameters<StorageEngine['fetch']>) => {
          fetches++;
          return target.fetch(...args);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { engine, fetches: () => fetches };
}

/** Collects what a feed delivers, as an event stream would. */
export class CollectingSink implements FeedSink {
  readonly records: SharedRecord[] = [];
  failed: EngineError | undefined;
  onDeliver: (() => void) | undefined;
  deliverFeed(_feed: PartitionFeed, records: readonly SharedRecord[], from: number): void {
    this.records.push(...records.slice(from));
    this.onDeliver?.();
  }
  feedFailed(_feed: PartitionFeed, err: EngineError): void {
    this.failed = err;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
}

/** `count` feeds of `topic`-0 from offset 0, all on the partition's shared tail. */
export async function feedsOnTail(t: TestContext, engine: StorageEngine, topic: string, count: number, tail: PartitionTailOptions) {
  const readers = new SharedPartitionReaders(engine, tail);
  t.after(() => readers.close());
  const options = { engine, readers, isolationLevel: 'read_committed' as const, catchUpBytes: 1 << 20 };
  const sinks = Array.from({ length: count }, () => new CollectingSink());
  const feeds = sinks.map((sink) => new PartitionFeed(sink, 0, topic, 0, 0, options));
  for (const f of feeds) f.start();
  await eventually(() => feeds.every((f) => f.tailing), 'every feed on the tail');
  return { readers, sinks, feeds };
}

export const values = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${prefix}${i}`) }));
