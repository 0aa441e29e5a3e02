import type { TestContext } from 'node:test';
import pino from 'pino';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaGroupCoordinatorOptions } from '../../../src/engine/kafka/kafka-group-coordinator';
import type { KafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import { MockCluster } from '../../kafka-mock/mock-cluster';
import { onTeardown } from '../../teardown';

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * Group settings for librdkafka's mock cluster. Its coordinator elects a leader only when a timer
 * fires: 3 s after a group's first join (group.initial.rebalance.delay.ms) and the session timeout
 * less 1 s after any later join or leave, however fast the members rejoin; and it expires a member
 * waiting in its first join once the session timeout passes. So the session must exceed 3 s (4 s
 * here), and each rebalance then takes about 3 s. Heartbeats every 500 ms tell members of a
 * rebalance well inside that.
 */
export const MOCK_GROUP_SETTINGS: KafkaGroupCoordinatorOptions = { sessionTimeoutMs: 4000, heartbeatIntervalMs: 500 };

export function mockEngineOptions(brokers: string[], clientId: string): KafkaEngineOptions {
  return {
    brokers,
    clientId,
    connectionTimeout: 1000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 3000 },
    fetchMaxWaitMs: 200,
  };
}

/** A mock cluster, a started kafka engine on it and its group coordinator, all stopped after the test. */
export async function startKafkaGroups(t: TestContext, brokers = 3) {
  const mock = await MockCluster.start(brokers);
  const engine = new KafkaEngine(mockEngineOptions(mock.brokers, 'group-test'), testLogger);
  await engine.start();
  const coordinator = engine.groupCoordinator(MOCK_GROUP_SETTINGS);
  onTeardown(t, async () => {
    await coordinator.close();
    await engine.close();
    await mock.stop();
  });
  await coordinator.start();
  return { mock, engine, coordinator };
}
