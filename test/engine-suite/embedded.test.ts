import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import { EmbeddedGroupCoordinator } from '../../src/coordinator/group/embedded-group-coordinator';
import { EmbeddedTransactionCoordinator } from '../../src/coordinator/transaction/embedded-transaction-coordinator';
import { defineEngineSuite } from './suite';

/** The compliance suite against EmbeddedEngine, on a fresh data dir per test. */
defineEngineSuite(
  'embedded',
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'basket-suite-'));
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const engine = new EmbeddedEngine({ dataDir, defaultPartitions: 1 }, logger);
    await engine.start();
    return {
      engine,
      createTopic: async (name, partitions) => {
        await engine.createTopic({ name, partitions });
      },
      groupCoordinator: () => new EmbeddedGroupCoordinator(engine, {}, logger),
      transactionCoordinator: () => new EmbeddedTransactionCoordinator(engine, undefined, {}, logger),
      cleanup: async () => {
        await engine.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
  {
    topicAdmin: true,
    topicConfigs: true,
    offsetsByTimestamp: true,
    acksZeroOffsets: true,
    nullHeaderValues: true,
    appendTimestamp: true,
    maxMessageBytes: true,
    transactions: true,
    coordinatedTransactions: true,
    transactionMarkers: true,
    commitDuringRebalance: true,
    groupAdmin: true,
    memberlessCommits: true,
    offsetFetchAll: true,
    producerDedup: true,
  },
);
