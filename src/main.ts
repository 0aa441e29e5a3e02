import 'reflect-metadata';
import { loadConfig, ConfigError } from './config/load-config';
import { createLogger } from './logger';
import { createContainer } from './container';
import { buildApp } from './app';
import { TOKENS } from './tokens';
import type { StorageEngine } from './engine/storage-engine';
import type { Lifecycle } from './lifecycle';
import { BASKET_NODE_FLAGS, startedWithBasketFlags } from './runtime-flags';

/**
 * Start: config (a bad value stops here, naming the setting), engine (recovery happens in start()),
 * app, listen. SIGTERM/SIGINT: readiness goes DOWN, the server stops accepting and finishes
 * in-flight requests (bounded by shutdownGraceMs), then the engine flushes and closes, leaving the
 * clean-shutdown marker.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`basket: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  const container = createContainer(config, logger);
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  const lifecycle = container.resolve<Lifecycle>(TOKENS.Lifecycle);

  await engine.start();
  const app = await buildApp(container);
  await app.listen({ port: config.port, host: config.host });
  logger.info({ engine: engine.name, port: config.port, host: config.host, dataDir: config.dataDir }, 'basket started');
  if (!startedWithBasketFlags()) {
    logger.warn({ flags: BASKET_NODE_FLAGS }, 'node was started without these flags (npm start and the Dockerfile give them): scavenges come more often and latency percentiles suffer');
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    lifecycle.beginShutdown();
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.warn({ graceMs: config.shutdownGraceMs }, 'grace period over, closing open connections');
      app.server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    try {
      await app.close();
      await engine.close();
      logger.info('shutdown complete');
      logger.flush();
      process.exitCode = 0;
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      logger.flush();
      process.exitCode = 1;
    } finally {
      clearTimeout(force);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`basket: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
