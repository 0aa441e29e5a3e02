import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import { LOCK_FILE, processStartTime } from '../../../src/engine/embedded/data-dir-lock';
import { EngineError } from '../../../src/engine/engine-error';

const logger = pino({ level: 'silent' });

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'basket-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeLock(dir: string, owner: unknown): void {
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify(owner)}\n`);
}

function lockOwner(dir: string): { pid: number; startTime: string | null; token: string } {
  return JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
}

test('a started engine holds .lock with its pid and start time; a clean close removes it', async (t) => {
  const dir = dataDir(t);
  const engine = new EmbeddedEngine({ dataDir: dir }, logger);
  await engine.start();
  const owner = lockOwner(dir);
  assert.deepEqual([owner.pid, owner.startTime], [process.pid, processStartTime(process.pid)]);
  assert.match(owner.token, /^[0-9a-f]{16}$/);
  await engine.close();
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)), [], 'no lock, and no staged copy of it');
});

test('closing an engine removes only the lock it wrote: a later engine of the same process on the dir keeps its own', async (t) => {
  const dir = dataDir(t);
  const first = new EmbeddedEngine({ dataDir: dir }, logger);
  await first.start();
  // As a crash test reopens a dir it did not close: the same process may take its own lock again.
  const second = new EmbeddedEngine({ dataDir: dir }, logger);
  await second.start();
  const secondsLock = lockOwner(dir);
  await first.close();
  assert.deepEqual(lockOwner(dir), secondsLock);
  await second.close();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('a data dir locked by another live process is refused, naming it; nothing is loaded or written', async (t) => {
  const dir = dataDir(t);
  // The test runner that started this file: alive, with its real start time.
  const owner = { pid: process.ppid, startTime: processStartTime(process.ppid) };
  writeLock(dir, owner);
  const engine = new EmbeddedEngine({ dataDir: dir }, logger);
  await assert.rejects(engine.start(), (err: unknown) => {
    assert.ok(err instanceof EngineError);
    assert.equal(err.code, 'KAFKA_STORAGE_ERROR');
    assert.match(err.message, new RegExp(`in use by process ${process.ppid}\\b`));
    return true;
  });
  assert.equal(engine.health().status, 'DOWN');
  assert.deepEqual(lockOwner(dir), owner, 'the owner keeps its lock');
});

test('a stale lock is taken over: its process is gone, or its pid now belongs to a process started later', async (t) => {
  for (const stale of [
    { pid: 2 ** 22 + 12345, startTime: '1' }, // above Linux's largest pid: no such process
    { pid: process.ppid, startTime: 'not-its-start-time' }, // the pid was reused
    { garbage: true },
  ]) {
    const dir = dataDir(t);
    writeLock(dir, stale);
    const engine = new EmbeddedEngine({ dataDir: dir }, logger);
    await engine.start();
    assert.equal(lockOwner(dir).pid, process.pid, JSON.stringify(stale));
    await engine.close();
  }
});
