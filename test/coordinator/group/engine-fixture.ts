import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import { EmbeddedGroupCoordinator, type EmbeddedGroupCoordinatorOptions } from '../../../src/coordinator/group/embedded-group-coordinator';

export const silent = pino({ level: 'silent' });

/** A started embedded engine and group coordinator on a temp dir, closed and removed after the test. */
export async function startCoordinator(t: TestContext, options: EmbeddedGroupCoordinatorOptions = {}, dataDir?: string) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'basket-coord-'));
  const engine = new EmbeddedEngine({ dataDir: dir }, silent);
  await engine.start();
  const coordinator = new EmbeddedGroupCoordinator(engine, options, silent);
  await coordinator.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await coordinator.close();
    await engine.close();
  };
  t.after(async () => {
    await close();
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
  });
  return { engine, coordinator, dir, close };
}
