import type { Logger } from 'pino';
import { isEngineError } from '../engine-error';
import type { StorageEngine } from '../storage-engine';
import { replayPartition } from '../../coordinator/internal-partition';
import type { TransactionMetadata } from '../../coordinator/transaction/transaction-metadata';

/** The journal topic's default name: internal to Basket (`__`), so the HTTP layer never writes to it. */
export const TRANSACTION_ANSWERS_TOPIC = '__basket_transaction_answers';

/**
 * What Kafka's transaction coordinator does not keep for Basket: the answer to a keyed commit or
 * abort (and the one-shot form's offsets), kept in a compacted Kafka topic of one partition so that
 * a retry with the same Idempotency-Key after a restart of Basket gets it again.
 *
 * Format: key = the transactional id (UTF-8); value = `{"v":0,"meta":TransactionMetadata}` as JSON
 * text, written (acks=all) once the transaction is complete; a null value (tombstone) forgets the id.
 * The last record of an id is its state at start. Ended sessions of generated transactional ids are
 * not written: no client can name them again.
 *
 * The topic is created (compacted, one partition) when missing. Where it can be neither found nor
 * created (a cluster without CreateTopics, no permission) the journal is off, logged once at warn,
 * and keyed answers live in memory only.
 */
export class KafkaTransactionJournal {
  private enabled = false;

  constructor(
    private readonly engine: StorageEngine,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  /** Opens the topic (creating it if missing) and returns the last state of every transactional id in it. */
  async load(): Promise<TransactionMetadata[]> {
    if ((await this.engine.partitionCount(this.topic)) === undefined) {
      try {
        await this.engine.createTopic({ name: this.topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } });
      } catch (err) {
        if (!isEngineError(err) || err.code !== 'TOPIC_ALREADY_EXISTS') {
          this.logger.warn({ err, topic: this.topic }, 'no topic for transaction answers: keyed commit, abort and one-shot answers are kept in memory only');
          return [];
        }
      }
    }
    const states = new Map<string, TransactionMetadata>();
    await replayPartition(this.engine, this.topic, 0, (r) => {
      if (r.key === null) return;
      const id = r.key.toString('utf8');
      if (r.value === null) {
        states.delete(id);
        return;
      }
      const meta = decode(r.value);
      if (meta === undefined) this.logger.warn({ topic: this.topic, offset: r.offset }, 'skipping a transaction answer of an unknown version');
      else states.set(id, meta);
    });
    this.enabled = true;
    return [...states.values()];
  }

  /** Keeps an ended transaction's answer; a failure is logged, the answer stays in memory. */
  async ended(meta: TransactionMetadata): Promise<void> {
    if (meta.generated === true || meta.endKey === undefined) return;
    await this.write(meta.transactionalId, Buffer.from(JSON.stringify({ v: 0, meta })));
  }

  /** Forgets a transactional id (a tombstone, which compaction removes with the id's records). */
  async forgotten(transactionalId: string): Promise<void> {
    await this.write(transactionalId, null);
  }

  private async write(transactionalId: string, value: Buffer | null): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.engine.append(this.topic, 0, [{ key: Buffer.from(transactionalId, 'utf8'), value }], { acks: -1 });
    } catch (err) {
      this.logger.warn({ err, transactionalId }, 'could not keep a transaction answer in Kafka; a keyed retry after a restart will not find it');
    }
  }
}

function decode(value: Buffer): TransactionMetadata | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { v?: number; meta?: TransactionMetadata };
    return parsed.v === 0 && parsed.meta !== undefined && typeof parsed.meta.transactionalId === 'string' ? parsed.meta : undefined;
  } catch {
    return undefined;
  }
}
