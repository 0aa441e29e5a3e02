import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBasket } from './process';
import { onTeardown } from '../teardown';

/**
 * Two real processes on one data dir: the second refuses to start while the first runs, and starts
 * once the first was killed with -9 (its .lock left behind, stale); a clean stop removes the lock.
 */
test('a second Basket on a data dir in use exits at start naming the owner; after kill -9 of the owner it starts', { timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-e2e-lock-'));
  onTeardown(t, () => rmSync(dataDir, { recursive: true, force: true }));
  const env = { BASKET_DATA_DIR: dataDir };
  const first = await startBasket(env);
  onTeardown(t, () => first.kill());

  await assert.rejects(startBasket(env), new RegExp(`exited with 1 before it was ready[\\s\\S]*in use by process ${first.child.pid}\\b`));
  const health = await fetch(`${first.url}/actuator/health/readiness`);
  assert.equal(health.status, 200, 'the owner runs on');

  await first.kill();
  assert.equal(existsSync(join(dataDir, '.lock')), true, 'kill -9 leaves the lock behind');
  const second = await startBasket(env);
  onTeardown(t, () => second.kill());
  assert.equal(await second.stop(), 0);
  assert.equal(existsSync(join(dataDir, '.lock')), false, 'a clean stop removes it');
});
