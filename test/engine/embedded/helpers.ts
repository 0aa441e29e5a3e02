import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { EmbeddedEngine, EmbeddedEngineOptions } from '../../../src/engine/embedded/embedded-engine';
import { FileOps, nodeFileOps } from '../../../src/engine/embedded/file-ops';
import { ProducerRecord } from '../../../src/engine/storage-engine';

export const silentLogger = pino({ level: 'silent' });

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/** Runs `fn` when the test ends, last deferred first (node:test runs after hooks in order). */
export function defer(t: TestContext, fn: () => unknown): void {
  let list = cleanups.get(t);
  if (list === undefined) {
    const fns: (() => unknown)[] = [];
    cleanups.set(t, fns);
    t.after(async () => {
      for (const f of fns.reverse()) await f();
    });
    list = fns;
  }
  list.push(fn);
}

/** A fresh temp directory removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'basket-embedded-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** FileOps that count what goes through them; `failWrites` makes every later write fail with EIO. */
export class CountingFileOps implements FileOps {
  writes = 0;
  /** Writes made on the event loop's thread (writevSync), a subset of `writes`. */
  threadWrites = 0;
  syncs = 0;
  bytesRead = 0;
  failWrites = false;
  writev(fd: number, buffers: Buffer[], position: number): Promise<number> {
    this.writes++;
    if (this.failWrites) return Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    return nodeFileOps.writev(fd, buffers, position);
  }
  writevSync(fd: number, buffers: Buffer[], position: number): number {
    this.writes++;
    this.threadWrites++;
    if (this.failWrites) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    return nodeFileOps.writevSync(fd, buffers, position);
  }
  fdatasync(fd: number): Promise<void> {
    this.syncs++;
    return nodeFileOps.fdatasync(fd);
  }
  async read(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
    const n = await nodeFileOps.read(fd, buffer, length, position);
    this.bytesRead += n;
    return n;
  }
}

/** A started engine on `dataDir`; closed when the test ends unless the test closed it. */
export async function startEngine(t: TestContext, dataDir: string, options: Partial<EmbeddedEngineOptions> = {}): Promise<EmbeddedEngine> {
  const engine = new EmbeddedEngine({ dataDir, retentionCheckIntervalMs: 3_600_000, ...options }, silentLogger);
  await engine.start();
  defer(t, () => engine.close());
  return engine;
}

export function rec(value: string, key: string | null = null, timestamp?: number): ProducerRecord {
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(value), timestamp };
}

/** `n` records valued `${prefix}${i}`. */
export function recs(n: number, prefix = 'v', timestamp?: number): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => rec(`${prefix}${i}`, null, timestamp));
}

/** Every record of a partition from `from`, as value strings, read in small fetches. */
export async function readAllValues(engine: EmbeddedEngine, topic: string, partition = 0, from?: number): Promise<string[]> {
  const log = engine.partitionLog(topic, partition);
  if (log === undefined) throw new Error(`no partition ${topic}-${partition}`);
  const out: string[] = [];
  let offset = from ?? log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, 4096);
    if (records.length === 0) throw new Error(`no progress at offset ${offset}`);
    for (const r of records) out.push(r.value?.toString() ?? '<null>');
    offset = records[records.length - 1].offset + 1;
  }
  return out;
}
