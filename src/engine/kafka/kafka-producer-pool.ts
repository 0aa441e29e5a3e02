import type { Logger } from 'pino';
import { incrementSequence } from '../storage-engine';
import { toEngineError } from './kafka-error-mapping';
import type { KafkaMetadata } from './kafka-metadata';
import type { KjsBroker, KjsCluster } from './kafkajs-internals';

/**
 * One idempotent producer of the engine (an id and epoch from Kafka's InitProducerId) with its next
 * sequence per partition. One append uses it at a time, so a retry resends exactly the sequences of
 * the batch it repeats, and the batch is the producer's last one in its partition: Kafka answers
 * the repeat of an appended batch with the first append's offsets instead of appending it again.
 */
export class KafkaProducerLane {
  private readonly next = new Map<string, number>();

  constructor(
    /** Kafka's producer id: an int64, kept as its decimal text. */
    readonly producerId: string,
    readonly producerEpoch: number,
  ) {}

  sequence(topic: string, partition: number): number {
    return this.next.get(`${partition}:${topic}`) ?? 0;
  }

  advance(topic: string, partition: number, count: number): void {
    this.next.set(`${partition}:${topic}`, incrementSequence(this.sequence(topic, partition), count));
  }
}

/** How long the pool stops asking for producer ids after the cluster refused one. */
const REFUSAL_BACKOFF_MS = 60_000;

/**
 * The kafka engine's idempotent producers: a pool of lanes, each a producer id from InitProducerId
 * without a transactional id, which any broker answers (kafkajs's own producer sends it to the
 * controller, which fails on clusters that report a controller id that is no broker). The pool grows
 * to the number of appends in flight and reuses released lanes most recent first, so Kafka keeps
 * producer state for about as many producers as there were concurrent appends.
 *
 * A lane whose last append ended in doubt, or that the broker no longer knows (UNKNOWN_PRODUCER_ID,
 * OUT_OF_ORDER_SEQUENCE_NUMBER, a fenced epoch), is retired: its sequences are unknown. When the
 * cluster refuses producer ids (no IdempotentWrite permission, an old broker) `acquire` gives
 * undefined for a while and appends go without an identity, as before idempotence: the refusal is
 * logged once per backoff.
 */
export class KafkaProducerPool {
  private readonly free: KafkaProducerLane[] = [];
  private refusedUntil = 0;
  retired = 0;

  constructor(
    private readonly cluster: KjsCluster,
    private readonly metadata: KafkaMetadata,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get idle(): number {
    return this.free.length;
  }

  async acquire(): Promise<KafkaProducerLane | undefined> {
    const lane = this.free.pop();
    if (lane !== undefined) return lane;
    if (this.now() < this.refusedUntil) return undefined;
    try {
      const broker = await this.anyBroker();
      const { producerId, producerEpoch } = await broker.initProducerId({ transactionTimeout: 60_000 });
      return new KafkaProducerLane(producerId, producerEpoch);
    } catch (err) {
      const error = toEngineError(err, 'InitProducerId');
      // A lost connection says nothing about the cluster's support: that append just goes without an id.
      if (!error.retriable) {
        this.refusedUntil = this.now() + REFUSAL_BACKOFF_MS;
        this.logger.warn({ err: error }, 'the Kafka cluster refused a producer id; appends are not idempotent for a while (a retry after a timeout is left to the caller)');
      }
      return undefined;
    }
  }

  release(lane: KafkaProducerLane): void {
    this.free.push(lane);
  }

  retire(_lane: KafkaProducerLane): void {
    this.retired++;
  }

  /** A connected broker if there is one, else the first known one: InitProducerId for idempotence is answered by every broker. */
  private async anyBroker(): Promise<KjsBroker> {
    const view = await this.metadata.current();
    for (const b of view.brokers) {
      const broker = await this.cluster.findBroker({ nodeId: b.id }).catch(() => undefined);
      if (broker !== undefined) return broker;
    }
    return this.cluster.findBroker({ nodeId: view.brokers[0]?.id ?? -1 });
  }
}
