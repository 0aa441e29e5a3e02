import { logLevel } from 'kafkajs';
import { resolveKafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';
import { createKafkajsCluster } from '../../../src/engine/kafka/kafkajs-internals';

/** A record as stored, with the producer fields of its batch header. */
export interface RawRecord {
  offset: number;
  value: string | null;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  control: boolean;
}

/** A record's batch identity as `producerId/epoch/baseSequence`, for comparisons. */
export function producerHeader(r: RawRecord): string {
  return `${r.producerId}/${r.producerEpoch}/${r.firstSequence}`;
}

/**
 * Every record of a partition with its batch's producer id, epoch, base sequence and transactional
 * flag, read with a plain Fetch (read_uncommitted) on a connection of its own: what Kafka would
 * dedup and fence on, which the engine's fetch does not show.
 */
export async function rawRecords(brokers: string[], topic: string, partition: number): Promise<RawRecord[]> {
  const cluster = createKafkajsCluster(resolveKafkaEngineOptions({ brokers, clientId: 'raw-reader' }), logLevel.NOTHING, () => () => undefined);
  try {
    await cluster.connect();
    await cluster.refreshMetadata();
    const leader = cluster.brokerPool.metadata!.topicMetadata.find((t) => t.topic === topic)!.partitionMetadata.find((p) => p.partitionId === partition)!.leader;
    const broker = await cluster.findBroker({ nodeId: leader });
    const out: RawRecord[] = [];
    let offset = 0;
    // The mock answers one batch per Fetch: bounded, one round per batch.
    for (let round = 0; round < 200; round++) {
      const response = await broker.fetch({ isolationLevel: 0, maxWaitTime: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1 << 20 }] }] });
      const messages = response.responses[0]?.partitions[0]?.messages ?? [];
      const fresh = messages.filter((m) => Number(m.offset) >= offset);
      if (fresh.length === 0) return out;
      for (const m of fresh) {
        const b = m.batchContext!;
        out.push({
          offset: Number(m.offset),
          value: m.value === null ? null : m.value.toString('utf8'),
          producerId: b.producerId,
          producerEpoch: b.producerEpoch ?? -1,
          firstSequence: b.firstSequence ?? -1,
          inTransaction: b.inTransaction,
          control: m.isControlRecord === true,
        });
      }
      offset = Number(fresh[fresh.length - 1]!.offset) + 1;
    }
    throw new Error(`rawRecords: ${topic}-${partition} did not end within 200 fetches`);
  } finally {
    await cluster.disconnect();
  }
}
