/** Groups items by topic, in first-seen order, as Kafka's requests and the consumer protocol list them. */
export function byTopic<T extends { topic: string }, P>(items: readonly T[], partition: (item: T) => P): Array<{ topic: string; partitions: P[] }> {
  const topics = new Map<string, P[]>();
  for (const item of items) {
    const list = topics.get(item.topic);
    if (list === undefined) topics.set(item.topic, [partition(item)]);
    else list.push(partition(item));
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
