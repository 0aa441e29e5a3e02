import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load-config';
import { createContainer } from '../src/container';
import { buildApp } from '../src/app';

/**
 * Writes the OpenAPI document generated from the route schemas (the engine is built but never
 * started: only routes matter). Usage: node dist/scripts/write-openapi.js [output path]
 */
async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? join(__dirname, '..', '..', 'openapi', 'openapi.json'));
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-openapi-'));
  try {
    const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir }, configDir: dataDir });
    const app = await buildApp(createContainer(config, pino({ level: 'silent' })));
    await app.ready();
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(app.swagger(), null, 2)}\n`);
    await app.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
