import type { TopicPartition } from '../coordinator/group/group-coordinator';

export type SubscriptionType = 'none' | 'topics' | 'pattern' | 'assigned';

/**
 * What a consumer instance reads, Kafka's SubscriptionState: a subscription (topics or a pattern,
 * partitions handed out by the group) or a manual assignment, never both; the assigned partitions;
 * and the position of each, the next offset to deliver.
 *
 * Invariants: positions exist only for assigned partitions; `epoch` grows whenever the assignment
 * changes, so a fetch prepared under one assignment can tell that it no longer holds.
 */
export class SubscriptionState {
  type: SubscriptionType = 'none';
  topics: string[] = [];
  pattern: RegExp | undefined;
  epoch = 0;
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();

  subscribe(topics: string[]): void {
    this.type = 'topics';
    this.topics = [...new Set(topics)].sort();
    this.pattern = undefined;
  }

  subscribePattern(pattern: RegExp): void {
    this.type = 'pattern';
    this.topics = [];
    this.pattern = pattern;
  }

  /** Kafka's pattern subscription: the topics (internal ones excluded) the pattern matches in full. */
  matchPattern(allTopics: string[]): string[] {
    const pattern = this.pattern;
    if (pattern === undefined) return [];
    return allTopics.filter((t) => !t.startsWith('__') && fullMatch(pattern, t)).sort();
  }

  assignManually(partitions: TopicPartition[]): void {
    this.type = 'assigned';
    this.topics = [];
    this.pattern = undefined;
    this.setAssignment(partitions);
  }

  unsubscribe(): void {
    this.type = 'none';
    this.topics = [];
    this.pattern = undefined;
    this.setAssignment([]);
  }

  /** The group's assignment for this member (or none, on revoke). Positions of partitions kept stay. */
  setAssignment(partitions: TopicPartition[]): void {
    const keep = new Set(partitions.map((tp) => key(tp.topic, tp.partition)));
    for (const k of [...this.positions.keys()]) if (!keep.has(k)) this.positions.delete(k);
    this.assigned = dedupe(partitions);
    this.epoch++;
  }

  assignment(): TopicPartition[] {
    return this.assigned;
  }

  isAssigned(topic: string, partition: number): boolean {
    return this.assigned.some((tp) => tp.topic === topic && tp.partition === partition);
  }

  position(topic: string, partition: number): number | undefined {
    return this.positions.get(key(topic, partition));
  }

  seek(topic: string, partition: number, offset: number): void {
    this.positions.set(key(topic, partition), offset);
  }

  /** Forgets positions, so they are resolved again from committed offsets (or the reset policy). */
  clearPositions(): void {
    this.positions.clear();
  }

  /** Assigned partitions that have a position, with it. */
  allPositions(): Array<TopicPartition & { offset: number }> {
    const out: Array<TopicPartition & { offset: number }> = [];
    for (const tp of this.assigned) {
      const offset = this.positions.get(key(tp.topic, tp.partition));
      if (offset !== undefined) out.push({ ...tp, offset });
    }
    return out;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function fullMatch(pattern: RegExp, topic: string): boolean {
  pattern.lastIndex = 0;
  const m = pattern.exec(topic);
  return m !== null && m.index === 0 && m[0].length === topic.length;
}

function dedupe(partitions: TopicPartition[]): TopicPartition[] {
  const seen = new Set<string>();
  return partitions.filter((tp) => {
    const k = key(tp.topic, tp.partition);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
