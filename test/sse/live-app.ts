import type { TestContext } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { DependencyContainer } from 'tsyringe';
import { buildTestApp, type TestApp } from '../helper';
import { loadConfig } from '../../src/config/load-config';
import { createContainer } from '../../src/container';
import { buildApp } from '../../src/app';
import type { StorageEngine } from '../../src/engine/storage-engine';
import { TOKENS } from '../../src/tokens';
import type { EventStreamHub } from '../../src/sse/event-stream-hub';
import { TopicSet, decodeCursor } from '../../src/sse/stream-cursor';
import type { SseConnection } from './sse-client';

export interface LiveApp extends TestApp {
  base: string;
  hub: EventStreamHub;
  /** POSTs JSON records over real HTTP; returns the offsets. */
  produce(topic: string, records: unknown[], query?: string): Promise<Array<{ partition: number; offset: number }>>;
}

/**
 * The test app listening on 127.0.0.1 (a random port), for clients that need a real socket.
 * `beforeListen` may add test-only routes (a page for the browser tests).
 */
export async function listenTestApp(t: TestContext, env: Record<string, string> = {}, beforeListen?: (app: FastifyInstance) => void): Promise<LiveApp> {
  const built = await buildTestApp(t, env);
  beforeListen?.(built.app);
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = built.app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    ...built,
    base,
    hub: built.container.resolve<EventStreamHub>(TOKENS.EventStreamHub),
    produce: (topic, records, query = '') => produceOver(base, topic, records, query),
  };
}

export interface RunningServer {
  base: string;
  app: FastifyInstance;
  engine: StorageEngine;
  container: DependencyContainer;
  /** Closes the app, then the engine (which leaves its clean-shutdown marker). */
  stop(): Promise<void>;
}

/**
 * A whole server on a data dir the caller owns, listening on 127.0.0.1: for restarts on the same
 * data (tests) and for benchmarks. `env` sets settings by their environment variable names.
 */
export async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({ env: { BASKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }, configDir: dataDir });
  const container = createContainer(config, pino({ level: 'silent' }));
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  await engine.start();
  const app = await buildApp(container);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    app,
    engine,
    container,
    stop: async () => {
      await app.close();
      await engine.close();
    },
  };
}

export async function produceOver(base: string, topic: string, records: unknown[], query = ''): Promise<Array<{ partition: number; offset: number }>> {
  const res = await fetch(`${base}/topics/${topic}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
    body: JSON.stringify({ records }),
  });
  const body = (await res.json()) as { offsets?: Array<{ partition: number; offset: number }> };
  if (res.status !== 200 || body.offsets === undefined) throw new Error(`produce to ${topic} failed: ${res.status} ${JSON.stringify(body)}`);
  return body.offsets;
}

/** The records of a connection's `record` events, parsed. */
export function recordsOf(conn: SseConnection): Array<{ topic: string; partition: number; offset: number; key: unknown; value: unknown }> {
  return conn.messages.filter((m) => m.event === 'record').map((m) => JSON.parse(m.data));
}

/** "partition:offset" of each record event, to compare deliveries. */
export function offsetsOf(conn: SseConnection): string[] {
  return recordsOf(conn).map((r) => `${r.topic}/${r.partition}:${r.offset}`);
}

export function positionsOf(topics: string[], cursor: string): number[][] {
  return decodeCursor(TopicSet.of(topics), cursor);
}

/** Polls a condition until it holds or the deadline passes; for state with no event to wait on. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
