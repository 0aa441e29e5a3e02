import type { IsolationLevel, StorageEngine } from '../engine/storage-engine';
import { PartitionTail, type PartitionTailOptions, type TailSubscriber } from './partition-tail';

/**
 * The shared partition readers: at most one PartitionTail per (topic, partition, isolation level),
 * created by the first subscriber that reaches the end of the partition and dropped when its last
 * subscriber leaves.
 */
export class SharedPartitionReaders {
  private readonly tails = new Map<string, PartitionTail>();
  private readonly dropTail = (tail: PartitionTail): void => {
    const key = tailKey(tail.topic, tail.partition, tail.isolationLevel);
    if (this.tails.get(key) === tail) this.tails.delete(key);
  };

  constructor(
    private readonly engine: StorageEngine,
    private readonly options: PartitionTailOptions,
  ) {}

  /**
   * Joins `subscriber` to the partition's tail when it is at or past the tail's position; when no
   * tail runs, starts one at the subscriber's offset if `atEnd` (the subscriber's last read found
   * nothing more). Returns undefined when the subscriber must read on by itself first.
   */
  tryJoin(topic: string, partition: number, isolationLevel: IsolationLevel, subscriber: TailSubscriber, atEnd: boolean): PartitionTail | undefined {
    const key = tailKey(topic, partition, isolationLevel);
    let tail = this.tails.get(key);
    if (tail === undefined) {
      if (!atEnd) return undefined;
      tail = new PartitionTail(this.engine, topic, partition, isolationLevel, subscriber.next, this.options, this.dropTail);
      this.tails.set(key, tail);
    } else if (subscriber.next < tail.position) {
      return undefined;
    }
    tail.add(subscriber);
    return tail;
  }

  /** Running tails, for metrics and tests. */
  get size(): number {
    return this.tails.size;
  }

  tail(topic: string, partition: number, isolationLevel: IsolationLevel): PartitionTail | undefined {
    return this.tails.get(tailKey(topic, partition, isolationLevel));
  }

  close(): void {
    for (const tail of [...this.tails.values()]) tail.stop();
  }
}

function tailKey(topic: string, partition: number, isolationLevel: IsolationLevel): string {
  return `${isolationLevel}|${topic}|${partition}`;
}
