import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig } from '../src/config/load-config';
import { createContainer } from '../src/container';
import { buildApp } from '../src/app';
import { TOKENS } from '../src/tokens';
import type { StorageEngine } from '../src/engine/storage-engine';

export interface TestApp {
  app: FastifyInstance;
  engine: StorageEngine;
  container: DependencyContainer;
  dataDir: string;
}

/**
 * Builds the app on a started embedded engine in a fresh temp data dir; closes both and removes the
 * dir when the test ends. `env` overrides settings by their environment variable names.
 */
export async function buildTestApp(t: TestContext, env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = env.BASKET_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'basket-test-'));
  const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }, configDir: dataDir });
  const container = createContainer(config, pino({ level: 'silent' }));
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  await engine.start();
  const app = await buildApp(container);
  t.after(async () => {
    await app.close();
    await engine.close();
    if (env.BASKET_DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
  });
  return { app, engine, container, dataDir };
}

export const JSON_V2 = 'application/vnd.kafka.json.v2+json';
export const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
export const STRING_V2 = 'application/vnd.kafka.string.v2+json';

/** POSTs a body with a content type; returns the parsed JSON answer and status. */
export async function post(app: FastifyInstance, url: string, body: unknown, contentType = JSON_V2, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': contentType, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.body.length > 0 ? (JSON.parse(res.body) as any) : undefined, headers: res.headers };
}

export async function get(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.body.length > 0 ? (JSON.parse(res.body) as any) : undefined, headers: res.headers };
}

/** High watermark of every partition of a topic, to check that a rejected request appended nothing. */
export async function highWatermarks(engine: StorageEngine, topic: string): Promise<number[]> {
  const d = await engine.describeTopic(topic);
  return d.partitions.map((p) => p.highWatermark);
}
