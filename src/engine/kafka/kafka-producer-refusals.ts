import { EngineError } from '../engine-error';
import { incrementSequence, type ProducerBatchIdentity } from '../storage-engine';

/**
 * Kafka's answers to a batch sent under a caller's producer identity, as errors that say what they
 * mean for that batch. The code stays Kafka's (the HTTP layer maps it), and so does `retriable`;
 * the kafkajs error is kept as `cause`. Kafka's rules (ProducerAppendInfo, UnifiedLog):
 *
 * - a repeat of one of the producer's last 5 batches in the partition (same epoch, same first and
 *   last sequence) is no error at all: it is answered with the first append's offsets;
 * - DUPLICATE_SEQUENCE_NUMBER: Kafka 0.11's answer to a repeat of the producer's last batch (later
 *   brokers answer with the offsets): the batch is in the log, at offsets Kafka does not say;
 * - OUT_OF_ORDER_SEQUENCE_NUMBER: the sequences do not follow the producer's last batch there and
 *   repeat none of its last 5: another batch under the same id (or a repeat of an older one);
 * - INVALID_PRODUCER_EPOCH, PRODUCER_FENCED: the partition knows a newer epoch of the id;
 * - UNKNOWN_PRODUCER_ID: a broker before 2.5 lost the producer's state and the batch does not start
 *   its sequences;
 * - CLUSTER_AUTHORIZATION_FAILED: a broker before 3.0 wants IdempotentWrite on the cluster for any
 *   batch with a producer id.
 */
export function producerRefusal(error: EngineError, producer: ProducerBatchIdentity, topic: string, partition: number, count: number): EngineError {
  const batch = `producer ${producer.producerId} epoch ${producer.producerEpoch} sequences ${producer.baseSequence}..${incrementSequence(producer.baseSequence, count - 1)} on ${topic}-${partition}`;
  const meaning = meaningOf(error);
  if (meaning === undefined) return error;
  return new EngineError(error.code, `${meaning(batch)} (${error.message})`, { retriable: error.retriable, cause: error.cause ?? error });
}

function meaningOf(error: EngineError): ((batch: string) => string) | undefined {
  switch (error.code) {
    case 'DUPLICATE_SEQUENCE_NUMBER':
      return (batch) => `Kafka already has the batch of ${batch} and did not say at which offsets (a broker of Kafka 0.11 answers a repeat so)`;
    case 'OUT_OF_ORDER_SEQUENCE_NUMBER':
      return (batch) => `Kafka refused the batch of ${batch}: its sequences neither follow nor repeat the producer's last batches there, so it is a different batch under the same producer id`;
    case 'INVALID_PRODUCER_EPOCH':
    case 'PRODUCER_FENCED':
      return (batch) => `Kafka refused the batch of ${batch}: the partition knows a newer epoch of that producer id`;
    case 'UNKNOWN_PRODUCER_ID':
      return (batch) => `Kafka no longer knows the producer of ${batch} and refused a batch that does not start its sequences`;
    case 'TOPIC_AUTHORIZATION_FAILED':
      if ((error.cause as { type?: string } | undefined)?.type !== 'CLUSTER_AUTHORIZATION_FAILED') return undefined;
      return (batch) => `Kafka refused the batch of ${batch}: the cluster wants the IdempotentWrite permission for batches with a producer id`;
    default:
      return undefined;
  }
}
