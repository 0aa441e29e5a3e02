import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EngineError } from '../engine-error';
import { procStatFields } from '../../proc-stat';

/** The lock file's name in the data dir, as Kafka names the one in each log dir. */
export const LOCK_FILE = '.lock';

/**
 * `<dataDir>/.lock`: the one process that writes the data dir. Two processes appending to the same
 * segment files would interleave their batches and each would acknowledge records the other
 * overwrites, so a second Basket on a directory in use refuses to start, as a second Kafka broker
 * does on a locked log dir.
 *
 * Node has no advisory file lock that the kernel drops when the process dies, so the file names its
 * owner and a start-up decides whether that owner still lives. Format: one line of JSON,
 * `{"pid":<n>,"startTime":"<ticks>"|null,"token":"<hex>"}`, where startTime is field 22 of
 * /proc/<pid>/stat (the process's start in clock ticks since boot; null where /proc is missing) and
 * token is this lock's own random id, so that a release removes only the lock it took. The file is
 * written whole under a temporary name and then linked to `.lock` (link fails if `.lock` exists), so
 * no reader ever sees it half-written. The lock is stale, and is
 * taken over, when that pid does not run, or runs with another start time (the pid was reused after
 * a kill -9). The process that holds it may take it again: tests reopen a data dir they did not
 * close, as a crash leaves it.
 *
 * Limits: processes in different pid namespaces (two containers sharing one volume) cannot see each
 * other, and two processes starting in the same instant on a stale lock may both take it.
 */
export class DataDirLock {
  private held = false;
  private readonly token = randomBytes(8).toString('hex');

  constructor(private readonly dataDir: string) {}

  private get file(): string {
    return path.join(this.dataDir, LOCK_FILE);
  }

  /** Takes the lock; throws KAFKA_STORAGE_ERROR (Kafka's code for a log dir it cannot use), naming the owner, when another live process holds it. */
  async acquire(): Promise<void> {
    const mine = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), token: this.token });
    const staged = `${this.file}.${this.token}`;
    await fsp.writeFile(staged, `${mine}\n`);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await linkIfAbsent(staged, this.file)) {
          this.held = true;
          return;
        }
        await this.refuseIfHeld();
        // Stale (or ours, or unreadable): replace it and try again.
        await fsp.rm(this.file, { force: true });
      }
    } finally {
      await fsp.rm(staged, { force: true });
    }
    throw new EngineError('KAFKA_STORAGE_ERROR', `Could not take ${this.file}: other processes keep taking it`);
  }

  private async refuseIfHeld(): Promise<void> {
    const owner = await this.readOwner();
    if (owner !== undefined && owner.pid !== process.pid && isRunning(owner)) {
      throw new EngineError(
        'KAFKA_STORAGE_ERROR',
        `The data dir ${this.dataDir} is in use by process ${owner.pid} (${this.file}); stop it, or use another BASKET_DATA_DIR`,
      );
    }
  }

  /** Gives the lock up if the file is still the one this lock wrote. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const owner = await this.readOwner();
    if (owner?.token === this.token) await fsp.rm(this.file, { force: true });
  }

  private async readOwner(): Promise<LockOwner | undefined> {
    try {
      const parsed = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Partial<LockOwner>;
      if (!Number.isInteger(parsed.pid) || (parsed.pid as number) <= 0) return undefined;
      return { pid: parsed.pid as number, startTime: typeof parsed.startTime === 'string' ? parsed.startTime : null, token: parsed.token };
    } catch {
      return undefined;
    }
  }
}

interface LockOwner {
  pid: number;
  startTime: string | null;
  token?: string;
}

/** Links `from` to `to`; false when `to` exists. */
async function linkIfAbsent(from: string, to: string): Promise<boolean> {
  try {
    await fsp.link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function isRunning(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartTime(owner.pid);
  return owner.startTime === null || now === null || now === owner.startTime;
}

/** Field 22 of /proc/<pid>/stat (starttime), or null where it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    return procStatFields(`/proc/${pid}/stat`)[19] ?? null;
  } catch {
    return null;
  }
}
