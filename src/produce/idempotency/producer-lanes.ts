import { incrementSequence, type StorageEngine } from '../../engine/storage-engine';

/**
 * One idempotent producer identity (producer id and epoch) with its next sequence per partition,
 * used by one produce request at a time. Exclusive use is what makes it simple: a request knows its
 * sequences before it appends, a retry resends exactly them, and its batches are the lane's last
 * ones in each partition until the lane is handed on.
 */
export class ProducerLane {
  /** Unset while every sequence is 0; `once` lanes never set it. */
  private next: Map<string, number> | undefined;

  /** `once`: the lane of one request (a key's own producer): it starts at 0 everywhere and is never advanced. */
  constructor(
    readonly producerId: number,
    readonly producerEpoch: number,
    private readonly once = false,
  ) {}

  nextSequence(topic: string, partition: number): number {
    return this.next?.get(laneKey(topic, partition)) ?? 0;
  }

  /** After an append (or its duplicate) succeeded. */
  advance(topic: string, partition: number, count: number): void {
    if (!this.once) this.setNextSequence(topic, partition, incrementSequence(this.nextSequence(topic, partition), count));
  }

  /** Sets where a resumed request's batch starts. */
  setNextSequence(topic: string, partition: number, sequence: number): void {
    (this.next ??= new Map()).set(laneKey(topic, partition), sequence);
  }
}

function laneKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/** Producer ids taken from the engine at once; one durable write per block. */
const BLOCK_SIZE = 1000;

/**
 * The HTTP layer's idempotent producers: a pool of lanes, each a producer id from the engine
 * (Kafka's AllocateProducerIds), handed to one request at a time and returned afterwards. The pool
 * grows to the number of requests in flight; released lanes are reused most recent first, so the
 * partitions' producer state holds about as many producers as there were concurrent requests.
 *
 * A lane whose last append ended in doubt (the engine failed after the batch may have been written)
 * is retired, never reused: its next sequences are unknown, and a request waiting to be resumed
 * after a restart may still need its batch to be the lane's last. On an engine without producer ids
 * (the kafka engine) `acquire` gives undefined and appends carry no identity.
 */
export class ProducerLanes {
  private readonly free: ProducerLane[] = [];
  private nextId = 0;
  private endId = 0;
  private allocating: Promise<void> | undefined;
  retired = 0;

  constructor(private readonly engine: StorageEngine) {}

  get enabled(): boolean {
    return this.engine.allocateProducerIds !== undefined;
  }

  get idle(): number {
    return this.free.length;
  }

  async acquire(): Promise<ProducerLane | undefined> {
    if (!this.enabled) return undefined;
    const lane = this.free.pop();
    if (lane !== undefined) return lane;
    while (this.nextId >= this.endId) await this.allocate();
    return new ProducerLane(this.nextId++, 0);
  }

  private allocate(): Promise<void> {
    this.allocating ??= this.engine.allocateProducerIds!(BLOCK_SIZE)
      .then((block) => {
        this.nextId = block.firstProducerId;
        this.endId = block.firstProducerId + block.count;
      })
      .finally(() => (this.allocating = undefined));
    return this.allocating;
  }

  /** Back to the pool: its sequences are known. */
  release(lane: ProducerLane): void {
    this.free.push(lane);
  }

  /** Never used again (see the class comment). */
  retire(_lane: ProducerLane): void {
    this.retired++;
  }
}
