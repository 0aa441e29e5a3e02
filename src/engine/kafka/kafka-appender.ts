import { EngineError, type EngineErrorCode } from '../engine-error';
import type { AppendOptions, AppendResult, ProducerBatchIdentity, ProducerRecord } from '../storage-engine';
import { toEngineError } from './kafka-error-mapping';
import type { KafkaLeaderClient } from './kafka-leader-client';
import type { KafkaProducerPool } from './kafka-producer-pool';
import { producerRefusal } from './kafka-producer-refusals';

/** Answers that say the broker lost or refused the lane's producer state: nothing was appended, a fresh producer id may send the batch. */
const PRODUCER_STATE_LOST: ReadonlySet<EngineErrorCode> = new Set(['UNKNOWN_PRODUCER_ID', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** Refusals of the request itself, before any batch reaches a log: the lane's sequences are still known. */
const REFUSED_BEFORE_APPEND: ReadonlySet<EngineErrorCode> = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_REQUEST', 'INVALID_RECORD', 'RECORD_TOO_LARGE', 'TOPIC_AUTHORIZATION_FAILED']);

/**
 * Appends of the kafka engine, with Kafka's producer identities.
 *
 * - An append that carries `producer` (a transaction's batch, or a caller's own identity, such as
 *   one derived from an Idempotency-Key) is sent with exactly that id, epoch and base sequence, also
 *   an id Kafka never handed out: a broker creates a producer's state on its first batch. The leader
 *   client resends it, identical, after every retriable error, and Kafka answers a repeat of one of
 *   the producer's last 5 batches with the first append's offsets. A non-transactional one goes with
 *   the acks asked: Kafka's brokers check producer state whatever the acks (acks=all for idempotence
 *   is the Java client's rule, not the broker's). A transactional one also carries its transactional
 *   id and goes with acks=all, as Kafka's transactional producers always send. Kafka's refusals go
 *   back to the caller, explained (kafka-producer-refusals.ts); none is retried under another id.
 * - An acks=all append without one takes a lane of the engine's own idempotent producers, so the
 *   leader client may resend it after a timeout or a lost connection (Kafka drops the repeat). When
 *   Kafka says it no longer knows the lane's producer, the lane is retired and the batch is sent once
 *   more under a fresh producer id, which is safe because that answer means nothing was appended.
 *   An append still in doubt after the retry budget retires its lane and fails, retriable.
 * - Other acks=0 and acks=1 appends carry no identity, as Kafka's clients are idempotent only with acks=all.
 */
export class KafkaAppender {
  constructor(
    private readonly leaders: KafkaLeaderClient,
    /** Undefined when idempotence is off. */
    private readonly pool: KafkaProducerPool | undefined,
  ) {}

  async append(topic: string, partition: number, records: ProducerRecord[], options: AppendOptions): Promise<AppendResult> {
    const producer = options.producer;
    if (producer !== undefined) {
      if (options.transactional === true && options.transactionalId === undefined) {
        throw new EngineError('INVALID_REQUEST', 'A transactional append on the kafka engine needs its transactional id');
      }
      checkIdentity(producer);
      try {
        return await this.leaders.produce(topic, partition, records, options.transactional === true ? -1 : options.acks, {
          producerId: String(producer.producerId),
          producerEpoch: producer.producerEpoch,
          baseSequence: producer.baseSequence,
          ...(options.transactional === true ? { transactionalId: options.transactionalId } : {}),
        });
      } catch (err) {
        throw producerRefusal(toEngineError(err), producer, topic, partition, records.length);
      }
    }
    if (options.acks !== -1 || this.pool === undefined) return this.leaders.produce(topic, partition, records, options.acks);
    for (let attempt = 0; ; attempt++) {
      const lane = await this.pool.acquire();
      if (lane === undefined) return this.leaders.produce(topic, partition, records, options.acks);
      try {
        const result = await this.leaders.produce(topic, partition, records, -1, {
          producerId: lane.producerId,
          producerEpoch: lane.producerEpoch,
          baseSequence: lane.sequence(topic, partition),
        });
        lane.advance(topic, partition, records.length);
        this.pool.release(lane);
        return result;
      } catch (err) {
        const error = toEngineError(err);
        if (REFUSED_BEFORE_APPEND.has(error.code)) {
          this.pool.release(lane);
          throw error;
        }
        this.pool.retire(lane);
        if (!PRODUCER_STATE_LOST.has(error.code) || attempt > 0) throw error;
      }
    }
  }
}

const INT16_MAX = 0x7fff;
const INT32_MAX = 0x7fff_ffff;

/** Kafka's fields are int64, int16 and int32; a value outside them would be sent as another one. */
function checkIdentity(producer: ProducerBatchIdentity): void {
  const { producerId, producerEpoch, baseSequence } = producer;
  const valid =
    Number.isSafeInteger(producerId) && producerId >= 0 && Number.isInteger(producerEpoch) && producerEpoch >= 0 && producerEpoch <= INT16_MAX && Number.isInteger(baseSequence) && baseSequence >= 0 && baseSequence <= INT32_MAX;
  if (!valid) throw new EngineError('INVALID_REQUEST', `Invalid producer identity: id ${producerId}, epoch ${producerEpoch}, base sequence ${baseSequence}`);
}
