import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignerProtocol, Kafka, logLevel, type Assigner, type PartitionAssigner } from 'kafkajs';
import { ConsumerManager } from '../../../src/consumer/consumer-manager';
import { eventually, partitionsOf } from '../../engine-suite/group-helpers';
import { startKafkaGroups, testLogger } from './kafka-group-fixture';
import { onTeardown } from '../../teardown';

/**
 * Basket's consumer instances are members of real Kafka consumer groups: a Kafka client of its own
 * kind (kafkajs's public consumer, which speaks the consumer protocol itself) joins the same group,
 * leads it, and the partitions are shared between them; the offsets a Basket member commits are the
 * group's offsets in Kafka, as any Kafka client reads them.
 */

/** Kafka's range assignor under its own name, so that this client and Basket's members agree on a protocol. */
const rangeAssigner: PartitionAssigner = ({ cluster }): Assigner => ({
  name: 'range',
  version: 0,
  protocol: ({ topics }) => ({ name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }),
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const shares = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
    for (const topic of topics) {
      const count = cluster.findTopicPartitionMetadata(topic).length;
      const per = Math.floor(count / ids.length);
      const extra = count % ids.length;
      let next = 0;
      ids.forEach((id, i) => {
        const n = per + (i < extra ? 1 : 0);
        (shares.get(id) as Record<string, number[]>)[topic] = Array.from({ length: n }, (_, k) => next + k);
        next += n;
      });
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: shares.get(memberId) as Record<string, number[]>, userData: Buffer.alloc(0) }),
    }));
  },
});

test('a kafkajs consumer and a Basket consumer instance share one Kafka group; Basket commits are the group offsets', { timeout: 60_000 }, async (t) => {
  const { mock, engine, coordinator } = await startKafkaGroups(t);
  await mock.createTopic('shared', 3, 3);
  const kafka = new Kafka({ brokers: mock.brokers, clientId: 'other-client', logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
  // kafkajs heartbeats between fetches, so its fetch wait must stay well inside the session.
  const other = kafka.consumer({ groupId: 'mixed', sessionTimeout: 4000, rebalanceTimeout: 5000, heartbeatInterval: 500, maxWaitTimeInMs: 200, partitionAssigners: [rangeAssigner] });
  let otherPartitions: number[] = [];
  let otherLeads = false;
  other.on(other.events.GROUP_JOIN, (e) => {
    otherPartitions = [...(e.payload.memberAssignment.shared ?? [])].sort((a, b) => a - b);
    otherLeads = e.payload.isLeader;
  });
  onTeardown(t, () => other.disconnect());
  await other.connect();
  await other.subscribe({ topic: 'shared', fromBeginning: true });
  await other.run({ eachMessage: async () => undefined });
  await eventually('the kafkajs consumer holds every partition alone', () => otherPartitions.length === 3, 20_000);

  const manager = new ConsumerManager(engine, coordinator, { instanceTimeoutMs: 60_000, maxPollTimeoutMs: 30_000 }, testLogger);
  onTeardown(t, () => manager.closeAll());
  const basket = manager.create('mixed', 'basket-member', { format: 'binary', 'auto.commit.enable': 'false' });
  await basket.subscribe(['shared'], undefined);
  await eventually(
    'the two clients split the partitions',
    () => {
      const mine = partitionsOf(basket);
      return mine.length > 0 && otherPartitions.length > 0 && new Set([...mine, ...otherPartitions]).size === 3 && mine.length + otherPartitions.length === 3;
    },
    30_000,
  );
  assert.deepEqual([partitionsOf(basket).length, otherPartitions.length].sort(), [1, 2]);
  assert.equal(otherLeads, true, 'the kafkajs client joined first and leads: Basket took an assignment another client wrote');

  const [mine] = partitionsOf(basket);
  await basket.commit([{ topic: 'shared', partition: mine, offset: 1, metadata: 'from basket' }]);
  const admin = kafka.admin();
  onTeardown(t, () => admin.disconnect());
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: 'mixed', topics: ['shared'] });
  const partition = offsets[0]?.partitions.find((p) => p.partition === mine);
  assert.deepEqual([partition?.offset, partition?.metadata], ['1', 'from basket']);
});
