import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Logger } from 'pino';
import { KafkaEngine } from '../../../src/engine/kafka/kafka-engine';
import type { KafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import { MockCluster } from '../../kafka-mock/mock-cluster';

/** A mock cluster and an engine on it, shared by the tests of one describe block. */
export interface MockEngineFixture {
  readonly mock: MockCluster;
  readonly engine: KafkaEngine;
  /** A new topic of one replica, named `<prefix>-<n>`. */
  topic(partitions?: number): Promise<string>;
}

/**
 * Registers before/after hooks in the calling describe block: the cluster (`brokers` brokers) and a
 * started, UP engine before its tests, both closed after them.
 */
export function mockEngineFixture(topicPrefix: string, options: (brokers: string[]) => KafkaEngineOptions, logger: Logger, brokers = 1): MockEngineFixture {
  let mock: MockCluster | undefined;
  let engine: KafkaEngine | undefined;
  let topicNo = 0;
  before(async () => {
    mock = await MockCluster.start(brokers);
    engine = new KafkaEngine(options(mock.brokers), logger);
    await engine.start();
    assert.equal(engine.health().status, 'UP');
  });
  after(async () => {
    await engine?.close();
    await mock?.stop();
  });
  const started = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error('the mock cluster fixture has not started');
    return part;
  };
  return {
    get mock() {
      return started(mock);
    },
    get engine() {
      return started(engine);
    },
    async topic(partitions = 1) {
      const name = `${topicPrefix}-${++topicNo}`;
      await started(mock).createTopic(name, partitions, 1);
      return name;
    },
  };
}
