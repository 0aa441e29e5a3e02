import pino from 'pino';
import { KafkaEngine } from '../../src/engine/kafka/kafka-engine';
import { MockCluster } from '../kafka-mock/mock-cluster';
import { defineEngineSuite } from './suite';
import { MOCK_GROUP_SETTINGS } from '../engine/kafka/kafka-group-fixture';

/**
 * The compliance suite against KafkaEngine on librdkafka's mock cluster (3 brokers, one cluster
 * per test). The launcher is built here; if it cannot be built the factory throws and every test
 * fails, so a CI without librdkafka-dev shows red instead of skipping.
 *
 * Capabilities off are the mock's, not the engine's (see src/engine/kafka/README.md): it has no
 * topic admin APIs (so topics are created through its control protocol), no DescribeConfigs, no
 * ListOffsets by timestamp, a fixed LogAppendTime of 1234 in Produce answers, and no
 * max.message.bytes check. Null header values are the engine's own limit (kafkajs's encoder), and
 * acks=0 has no answer to carry offsets on any Kafka cluster.
 *
 * Groups run on Kafka's own coordinator (KafkaGroupCoordinator). The mock's coordinator refuses
 * a member's OffsetCommit once a rebalance has started (commitDuringRebalance; Kafka accepts it
 * until the new generation), has no DescribeGroups, ListGroups or DeleteGroups (groupAdmin),
 * refuses commits from outside the group once the group has existed (memberlessCommits; Kafka
 * accepts them while the group is empty) and answers an OffsetFetch for all partitions with none
 * (offsetFetchAll). Its rebalances wait on timers, hence the short session of MOCK_GROUP_SETTINGS.
 *
 * Transactions run on Kafka's transaction coordinator (KafkaTransactionCoordinator). Engine-level
 * markers (`transactions`) are Kafka's inter-broker WriteTxnMarkers, which no client may send. The
 * mock answers every transaction request but writes no markers and fences nothing at the partitions
 * (`transactionMarkers`): its last stable offset is always the high watermark, aborted records stay
 * visible, and each InitProducerId gives a new producer id instead of a bumped epoch.
 *
 * The mock keeps no producer state at all (`producerDedup`): it appends a repeated batch again.
 * Kafka's brokers answer the repeat with the first append's offsets (UnifiedLog's duplicate check
 * over ProducerStateEntry's last 5 batches); the engine's part, sending the identity as given and
 * resending the identical batch, is tested on the mock in test/engine/kafka/kafka-caller-producer.test.ts.
 */
defineEngineSuite(
  'kafka (mock cluster)',
  async () => {
    const mock = await MockCluster.start(3);
    const engine = new KafkaEngine(
      {
        brokers: mock.brokers,
        clientId: 'engine-suite',
        connectionTimeout: 1000,
        requestTimeout: 5000,
        retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 3000 },
        fetchMaxWaitMs: 200,
      },
      pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    );
    await engine.start();
    if (engine.health().status !== 'UP') throw new Error(`kafka engine did not connect to the mock cluster: ${JSON.stringify(engine.health())}`);
    return {
      engine,
      createTopic: (name, partitions) => mock.createTopic(name, partitions, 3),
      groupCoordinator: () => engine.groupCoordinator(MOCK_GROUP_SETTINGS),
      // The mock does not announce WriteTxnMarkers, which the coordinator requires by default.
      transactionCoordinator: () => engine.transactionCoordinator({ requireMarkers: false }),
      cleanup: async () => {
        await engine.close();
        await mock.stop();
      },
    };
  },
  {
    topicAdmin: false,
    topicConfigs: false,
    offsetsByTimestamp: false,
    acksZeroOffsets: false,
    nullHeaderValues: false,
    appendTimestamp: false,
    maxMessageBytes: false,
    transactions: false,
    coordinatedTransactions: true,
    transactionMarkers: false,
    commitDuringRebalance: false,
    groupAdmin: false,
    memberlessCommits: false,
    offsetFetchAll: false,
    producerDedup: false,
  },
);
