import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { EngineError } from '../../engine/engine-error';
import type { StorageEngine } from '../../engine/storage-engine';
import type { ProduceOutcome } from '../produce-service';
import {
  decodeKeyRecord,
  decodeOutcomes,
  encodeKeyRecord,
  encodeOutcomes,
  IDEMPOTENCY_KEYS_TOPIC,
  type IntentRecord,
  type KeyRecord,
} from './idempotency-records';

export interface IdempotencyKeyStoreOptions {
  /** How long a key is remembered after its first request, ms. */
  ttlMs: number;
  /** Most keys held in memory; past it the oldest settled keys are forgotten early. */
  maxKeys: number;
  now?: () => number;
}

/** A key as the store holds it. */
export interface KeyEntry {
  key: string;
  fingerprint: string;
  createdAt: number;
  async: boolean;
  /** Set once the intent is durable (or replayed): the request may have appended. */
  intent?: IntentRecord;
  /** Set once the request succeeded. */
  outcomes?: ProduceOutcome[];
  /** This process is running the request: repeats wait for it. */
  inFlight?: Promise<ProduceOutcome[]>;
}

const REPLAY_FETCH_BYTES = 1 << 20;

/** A keyed request's receipt id: derived from the key, so it can be looked up after a restart. */
export function keyedReceiptId(key: string): string {
  return `k${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * The Idempotency-Key table: in memory for lookups, made durable as records in the internal topic
 * `__idempotency_keys` (intent before the first append, completed after it, released when refused),
 * each fsynced (acks=all) before it counts. `start` replays the topic, so keys survive a restart;
 * records older than the window are skipped, and the topic's retention.ms drops them from disk.
 *
 * Invariants: at most one entry per key; an entry with an intent and no outcome is "pending": its
 * request may or may not have appended, and only resuming it (idempotent-producer.ts) tells.
 * Map order is creation order, so expiry and eviction walk from the front.
 */
export class IdempotencyKeyStore {
  private readonly entries = new Map<string, KeyEntry>();
  private readonly byReceipt = new Map<string, string>();
  private starting: Promise<void> | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private closed = false;

  constructor(
    private readonly engine: StorageEngine,
    private readonly options: IdempotencyKeyStoreOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Creates the topic if needed and replays it; concurrent and later calls share the first. */
  start(): Promise<void> {
    this.starting ??= this.load().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async load(): Promise<void> {
    const started = Date.now();
    await this.ensureTopic();
    let offset = (await this.engine.listOffset(IDEMPOTENCY_KEYS_TOPIC, 0, 'earliest')).offset;
    const end = (await this.engine.listOffset(IDEMPOTENCY_KEYS_TOPIC, 0, 'latest')).offset;
    let records = 0;
    while (offset < end) {
      const response = await this.engine.fetch({
        partitions: [{ topic: IDEMPOTENCY_KEYS_TOPIC, partition: 0, offset }],
        maxBytes: REPLAY_FETCH_BYTES,
        maxWaitMs: 0,
        isolationLevel: 'read_uncommitted',
      });
      const p = response.partitions[0];
      if (p.error !== undefined) throw p.error;
      if (p.records.length === 0) break;
      for (const r of p.records) {
        const decoded = decodeKeyRecord(r);
        if (decoded !== undefined) this.replay(decoded.key, decoded.record);
        records++;
      }
      offset = p.nextOffset;
    }
    this.expire();
    const interval = Math.max(1000, Math.min(60_000, Math.floor(this.options.ttlMs / 10)));
    this.sweep = setInterval(() => this.expire(), interval);
    this.sweep.unref();
    this.logger.info({ records, keys: this.entries.size, ms: Date.now() - started }, 'idempotency keys loaded');
  }

  private async ensureTopic(): Promise<void> {
    if ((await this.engine.partitionCount(IDEMPOTENCY_KEYS_TOPIC)) !== undefined) return;
    const ttl = this.options.ttlMs;
    try {
      await this.engine.createTopic({
        name: IDEMPOTENCY_KEYS_TOPIC,
        partitions: 1,
        configs: { 'retention.ms': String(ttl), 'segment.ms': String(Math.max(60_000, Math.floor(ttl / 4))), 'segment.bytes': String(64 << 20) },
      });
    } catch (err) {
      if (!(err instanceof EngineError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err;
    }
  }

  private replay(key: string, record: KeyRecord): void {
    if (record.type === 'released') {
      this.remove(key);
      return;
    }
    if (this.now() - record.createdAt > this.options.ttlMs) return;
    const entry = this.entries.get(key) ?? this.insert(key, record.fingerprint, record.createdAt, record.async);
    if (record.type === 'intent') entry.intent = record;
    else entry.outcomes = decodeOutcomes(record.outcomes);
  }

  /** The live entry for `key`; an expired one is forgotten here. */
  get(key: string): KeyEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.inFlight === undefined && this.now() - entry.createdAt > this.options.ttlMs) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  byReceiptId(receiptId: string): KeyEntry | undefined {
    const key = this.byReceipt.get(receiptId);
    return key === undefined ? undefined : this.get(key);
  }

  /** A new entry, in memory only until its intent is written. Synchronous: no repeat can slip in. */
  begin(key: string, fingerprint: string, async: boolean): KeyEntry {
    if (this.entries.has(key)) throw new Error(`idempotency key '${key}' already has an entry`);
    const entry = this.insert(key, fingerprint, this.now(), async);
    this.evict();
    return entry;
  }

  private insert(key: string, fingerprint: string, createdAt: number, async: boolean): KeyEntry {
    const entry: KeyEntry = { key, fingerprint, createdAt, async };
    this.entries.set(key, entry);
    this.byReceipt.set(keyedReceiptId(key), key);
    return entry;
  }

  /** Forgets the entry in memory (its request was refused before anything was written). */
  drop(entry: KeyEntry): void {
    if (this.entries.get(entry.key) === entry) this.remove(entry.key);
  }

  private remove(key: string): void {
    this.entries.delete(key);
    this.byReceipt.delete(keyedReceiptId(key));
  }

  async writeIntent(entry: KeyEntry, intent: IntentRecord): Promise<void> {
    await this.write(entry.key, intent);
    entry.intent = intent;
  }

  async writeCompleted(entry: KeyEntry, outcomes: ProduceOutcome[]): Promise<void> {
    await this.write(entry.key, {
      type: 'completed',
      v: 0,
      fingerprint: entry.fingerprint,
      createdAt: entry.createdAt,
      async: entry.async,
      outcomes: encodeOutcomes(outcomes),
    });
  }

  async writeReleased(entry: KeyEntry): Promise<void> {
    this.drop(entry);
    await this.write(entry.key, { type: 'released', v: 0 });
  }

  private async write(key: string, record: KeyRecord): Promise<void> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'The idempotency key store is closed');
    await this.engine.append(IDEMPOTENCY_KEYS_TOPIC, 0, [encodeKeyRecord(key, record, this.now())], { acks: -1 });
  }

  /** Forgets keys past the window (creation order: stops at the first live one). */
  expire(): void {
    const oldest = this.now() - this.options.ttlMs;
    for (const entry of this.entries.values()) {
      if (entry.createdAt >= oldest) break;
      if (entry.inFlight === undefined) this.remove(entry.key);
    }
  }

  /** Past maxKeys, forgets the oldest entries whose request is not running. */
  private evict(): void {
    if (this.entries.size <= this.options.maxKeys) return;
    for (const entry of this.entries.values()) {
      if (this.entries.size <= this.options.maxKeys) break;
      if (entry.inFlight === undefined) this.remove(entry.key);
    }
  }

  close(): void {
    this.closed = true;
    if (this.sweep !== undefined) clearInterval(this.sweep);
  }
}
