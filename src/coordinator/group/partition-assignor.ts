import type { Subscription, TopicPartition } from './group-coordinator';

/**
 * Kafka's client-side partition assignment: the group leader hands every member its partitions.
 * An assignor must be deterministic for the same input (members sorted by member id) and give every
 * partition of a subscribed topic to exactly one member subscribed to that topic. Members beyond
 * the partition count get nothing and stay idle, as in Kafka.
 */
export interface PartitionAssignor {
  /** The protocol name members announce in JoinGroup. */
  readonly name: string;
  /**
   * @param partitionCounts partitions per topic; topics missing here (not created yet) are skipped
   * @param subscriptions member id -> what it subscribed to
   */
  assign(partitionCounts: Readonly<Record<string, number>>, subscriptions: ReadonlyMap<string, Subscription>): Map<string, TopicPartition[]>;
}

/** Kafka's RangeAssignor: per topic, consecutive ranges; the first members get one extra partition. */
export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range';

  assign(partitionCounts: Readonly<Record<string, number>>, subscriptions: ReadonlyMap<string, Subscription>): Map<string, TopicPartition[]> {
    const out = emptyAssignment(subscriptions);
    for (const topic of subscribedTopics(subscriptions)) {
      const count = partitionCounts[topic];
      if (count === undefined) continue;
      const members = sortedMembers(subscriptions).filter((m) => subscriptions.get(m)?.topics.includes(topic));
      const per = Math.floor(count / members.length);
      const extra = count % members.length;
      members.forEach((member, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        const mine = out.get(member) as TopicPartition[];
        for (let p = start; p < start + length; p++) mine.push({ topic, partition: p });
      });
    }
    return out;
  }
}

/** Kafka's RoundRobinAssignor: all partitions in (topic, partition) order dealt to members in turn. */
export class RoundRobinAssignor implements PartitionAssignor {
  readonly name = 'roundrobin';

  assign(partitionCounts: Readonly<Record<string, number>>, subscriptions: ReadonlyMap<string, Subscription>): Map<string, TopicPartition[]> {
    const out = emptyAssignment(subscriptions);
    const members = sortedMembers(subscriptions);
    if (members.length === 0) return out;
    let next = 0;
    for (const topic of subscribedTopics(subscriptions)) {
      const count = partitionCounts[topic] ?? 0;
      for (let partition = 0; partition < count; partition++) {
        // Skip members not subscribed to this topic; one of them is, since the topic is subscribed.
        while (!(subscriptions.get(members[next % members.length] as string)?.topics.includes(topic) ?? false)) next++;
        (out.get(members[next % members.length] as string) as TopicPartition[]).push({ topic, partition });
        next++;
      }
    }
    return out;
  }
}

export const ASSIGNORS: Readonly<Record<string, PartitionAssignor>> = {
  range: new RangeAssignor(),
  roundrobin: new RoundRobinAssignor(),
};

function emptyAssignment(subscriptions: ReadonlyMap<string, Subscription>): Map<string, TopicPartition[]> {
  return new Map([...subscriptions.keys()].map((m) => [m, []]));
}

function sortedMembers(subscriptions: ReadonlyMap<string, Subscription>): string[] {
  return [...subscriptions.keys()].sort();
}

function subscribedTopics(subscriptions: ReadonlyMap<string, Subscription>): string[] {
  const topics = new Set<string>();
  for (const s of subscriptions.values()) for (const t of s.topics) topics.add(t);
  return [...topics].sort();
}
