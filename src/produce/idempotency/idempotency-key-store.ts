import type { Logger } from 'pino';
import { EngineError } from '../../engine/engine-error';
import type { Acks } from '../../engine/storage-engine';
import type { ProduceOutcome } from '../produce-service';
import { IdempotencyJournal } from './idempotency-journal';
import { decodeKeyRecord, decodeOutcomes, keyRecordSize, writeKeyRecord, type CompletedRecord, type IntentRecord, type KeyRecord } from './idempotency-records';
import { isKeyedProducerId, keyDigest, keyedProducerId } from './keyed-producer-id';
import { ProducerIdIndex } from '../../engine/producer-id-index';
import { CompletedKeys } from './completed-keys';
import { EvictionOrder } from './eviction-order';
import { KeyTable } from './key-table';

export interface IdempotencyKeyStoreOptions {
  /** How long a key is remembered after its first request, ms. */
  ttlMs: number;
  /** Most keys held in memory; past it the oldest settled keys are forgotten early. */
  maxKeys: number;
  /** Journal bytes kept on disk; past it the oldest segments go. Default 256 MiB. */
  maxJournalBytes?: number;
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
  /** Set once the request succeeded: its outcomes as runs (see encodeOutcomes), a few numbers however many records. */
  outcomeRuns?: number[];
  /** This process is running the request: repeats wait for it. */
  inFlight?: Promise<ProduceOutcome[]>;
  /** The key's own producer id (keyed-producer-id.ts), once claimed; unset for a key sent under an allocated one. */
  producerId?: number;
  /** Where the key table holds this entry (key-table.ts); set by the store, unset on a completed key's copy. */
  handle?: number;
}

const SEGMENT_BYTES = 16 << 20;
/** The value of a claimed id in `claimedIds`: the index is used as a set. */
const CLAIMED = 0;
/** Longest an outcome or release waits to ride on an intent's write (and, for acks=all, fsync). */
const LAZY_MS = 5;
/** Longest a written record waits for an fsync nobody asked for: what a power loss can take from the journal. */
export const BACKGROUND_SYNC_MS = 100;
/** The journal's directory under the data directory. */
export const IDEMPOTENCY_DIR = 'idempotency';

function closedError(): EngineError {
  return new EngineError('ENGINE_CLOSED', 'The idempotency key store is closed');
}

function noOutcome(entry: KeyEntry): Error {
  return new Error(`idempotency key '${entry.key}' has no outcome to write`);
}

/** A succeeded entry's journal record: its outcome, with its fingerprint and producer id. */
function completedRecord(entry: KeyEntry): CompletedRecord {
  const record: CompletedRecord = {
    type: 'completed',
    v: 0,
    fingerprint: entry.fingerprint,
    createdAt: entry.createdAt,
    async: entry.async,
    outcomes: entry.outcomeRuns!,
  };
  if (entry.producerId !== undefined) record.producerId = entry.producerId;
  return record;
}

/** Records waiting for the journal's next write, by position. */
interface Queued {
  keys: string[];
  records: KeyRecord[];
  sizes: number[];
}

function journalFailure(err: unknown): EngineError {
  return new EngineError('KAFKA_STORAGE_ERROR', `The idempotency key journal failed: ${(err as Error).message}`, { cause: err });
}

/** A keyed request's receipt id: derived from the key (`digest`: its keyDigest), so it can be looked up after a restart. */
export function keyedReceiptId(key: string, digest = keyDigest(key)): string {
  // The first 16 bytes in hex: the receipt ids of earlier versions, which took the hex digest's first 32 digits.
  return `k${Buffer.from(digest.slice(0, 16), 'latin1').toString('hex')}`;
}

/**
 * The Idempotency-Key table: in memory for lookups, made durable as records in its own journal
 * under the data directory (idempotency-journal.ts): a request's intent (written with its appends,
 * or before them for a request under an allocated producer id, see idempotent-producer.ts), its
 * outcome after, a release when it was refused. An intent counts once written (it survives a
 * process crash); `sync` makes it survive a power loss. Outcomes and releases are as
 * durable as the request's acks ask before they count. `start` replays the journal, so keys
 * survive a restart; records older than the window are skipped, and whole journal segments past it
 * are deleted.
 *
 * Invariants: at most one entry per key, and per keyed producer id (claimProducerId); an entry with
 * an intent and no outcome is "pending": its request may or may not have appended, and only
 * resuming it (idempotent-producer.ts) tells.
 * The keys are found by their keyed producer id (key-table.ts; a key the table holds is told
 * apart from another key with the same id by the key itself). Expiry and eviction walk `order`
 * (eviction-order.ts), creation order, from its front. A key whose request succeeded is kept as a
 * slot of `completed` (a number in the table) once its outcome is written, when it fits one
 * (completed-keys.ts); `get` hands out a copy of it.
 */
export class IdempotencyKeyStore {
  private readonly entries = new KeyTable<KeyEntry | number>();
  private readonly completed = new CompletedKeys();
  private readonly byReceipt = new Map<string, string>();
  /**
   * Producer ids claimed by a key other than through its own place in the table: a key the table
   * holds under another key's id (`collided`), or one whose claimed id is not the id the table
   * finds it by (only when the producer's id function is not keyedProducerId: tests). A key that
   * claims the id the table finds it by is not here: the table's index already says which key that
   * is (claimProducerId), so the usual claim costs no lookup and no memory of its own. One key per
   * id, whichever way it is held.
   */
  private readonly claimedIds = new ProducerIdIndex();
  private readonly order: EvictionOrder;
  /**
   * The key `get` last found absent, and its id, until an entry is inserted: `begin` right after
   * that `get` (a new key's request) need not look it up a second time.
   */
  private lastMiss: string | undefined;
  private lastMissId = -1;
  private readonly journal: IdempotencyJournal;
  private started = false;
  private sweep: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private closed = false;
  /**
   * Records of this turn of the event loop, each a key, its record and the record's size: one write
   * for all of them (see `write`), each encoded straight into it.
   */
  private queued: Queued = { keys: [], records: [], sizes: [] };
  private waiting: Array<{ resolve: () => void; reject: (err: unknown) => void; acks: Acks }> = [];
  private flushScheduled = false;
  /**
   * Outcomes of requests answered once written (writeCompletedNow) go out when this
   * callback's microtasks are done, not at the end of the turn: they are asked for as the engine's
   * write of this turn resolves its appends (the log writer drains in a setImmediate, so a
   * setImmediate asked for there would run a whole turn later), and every request that write
   * answers asks within those microtasks, so they still share one write(2). Intents keep the end
   * of the turn: each request is read in a callback of its own.
   */
  private tickFlushScheduled = false;
  /** Written records whose waiters want them fsynced, waiting for the next sync (see `flush`). */
  private lazy: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private lazyTimer: NodeJS.Timeout | undefined;
  private backgroundSync: NodeJS.Timeout | undefined;

  constructor(
    dir: string,
    private readonly options: IdempotencyKeyStoreOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.order = new EvictionOrder((handle) => this.entries.serial(handle), options.maxKeys);
    this.journal = new IdempotencyJournal(dir, {
      ttlMs: options.ttlMs,
      segmentBytes: SEGMENT_BYTES,
      segmentMs: Math.max(60_000, Math.floor(options.ttlMs / 4)),
      maxBytes: options.maxJournalBytes ?? 256 << 20,
      now: this.now,
    });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Replays the journal once; later calls return at once. */
  start(): void {
    if (this.started) return;
    const started = Date.now();
    let payloads: Buffer[];
    try {
      payloads = this.journal.open();
    } catch (err) {
      throw new EngineError('KAFKA_STORAGE_ERROR', `The idempotency key journal cannot be opened: ${(err as Error).message}`, { cause: err });
    }
    for (const payload of payloads) {
      const decoded = decodeKeyRecord(payload);
      if (decoded !== undefined) this.replay(decoded.key, decoded.record);
    }
    for (const handle of this.entries.handles()) {
      const entry = this.entries.value(handle)!;
      if (typeof entry !== 'number' && entry.outcomeRuns !== undefined) this.compact(entry);
    }
    this.expire();
    this.evict();
    this.started = true;
    const interval = Math.max(1000, Math.min(60_000, Math.floor(this.options.ttlMs / 10)));
    this.sweep = setInterval(() => this.expire(), interval);
    this.sweep.unref();
    this.logger.info({ records: payloads.length, keys: this.entries.size, ms: Date.now() - started }, 'idempotency keys loaded');
  }

  private replay(key: string, record: KeyRecord): void {
    const digest = keyDigest(key);
    const id = keyedProducerId(key, digest);
    const handle = this.entries.find(key, id);
    if (record.type === 'released') {
      if (handle !== -1) this.forget(handle);
      return;
    }
    if (this.now() - record.createdAt > this.options.ttlMs) return;
    const entry = handle !== -1 ? (this.entries.value(handle) as KeyEntry) : this.insert(key, id, record.fingerprint, record.createdAt, record.async, digest);
    if (record.type === 'intent') {
      entry.intent = record;
      if (isKeyedProducerId(record.producerId)) this.claimProducerId(entry, record.producerId);
    } else {
      entry.outcomeRuns = record.outcomes;
      if (record.producerId !== undefined) this.claimProducerId(entry, record.producerId);
    }
  }

  /**
   * Makes `producerId` the entry's own, unless another key this table holds has it (a collision of
   * keyedProducerId): then false, and the entry must be sent under an allocated id.
   */
  claimProducerId(entry: KeyEntry, producerId: number): boolean {
    if (entry.producerId === producerId) return true;
    if (this.claimedIds.size > 0 && this.claimedIds.get(producerId) !== -1) return false;
    // The key the index holds under this id: if it claimed it, no other key may; if it is this
    // entry's own place, the index records the claim (ownId).
    const holder = this.entries.indexed(producerId);
    if (holder !== -1 && this.producerIdOf(this.entries.value(holder)!) === producerId) return false;
    entry.producerId = producerId;
    if (entry.handle === undefined || holder !== entry.handle) this.claimedIds.set(producerId, CLAIMED);
    return true;
  }

  /** True when the table finds the key under `handle` by `producerId` itself: a claim of it needs no entry in claimedIds. */
  private ownId(handle: number | undefined, producerId: number): boolean {
    return handle !== undefined && this.entries.indexed(producerId) === handle;
  }

  /**
   * The live entry for `key` (a copy for a completed key); an expired one is forgotten here.
   * `digest`: the key's keyDigest, if the caller has it.
   */
  get(key: string, digest?: string): KeyEntry | undefined {
    const id = keyedProducerId(key, digest);
    const handle = this.entries.find(key, id);
    if (handle === -1 || this.expired(this.entries.value(handle)!)) {
      if (handle !== -1) this.forget(handle);
      this.lastMiss = key;
      this.lastMissId = id;
      return undefined;
    }
    const entry = this.entries.value(handle)!;
    return typeof entry === 'number' ? this.completed.entry(entry, key) : entry;
  }

  private createdAtOf(entry: KeyEntry | number): number {
    return typeof entry === 'number' ? this.completed.createdAt(entry) : entry.createdAt;
  }

  private expired(entry: KeyEntry | number): boolean {
    if (typeof entry === 'number') return this.now() - this.completed.createdAt(entry) > this.options.ttlMs;
    return entry.inFlight === undefined && this.now() - entry.createdAt > this.options.ttlMs;
  }

  /** True when the table holds this very entry (not a copy, not one it forgot). */
  private holds(entry: KeyEntry): boolean {
    return entry.handle !== undefined && this.entries.value(entry.handle) === entry;
  }

  /** Keeps a succeeded entry as a slot, when it fits one and nothing holds it in flight. */
  private compact(entry: KeyEntry): void {
    if (entry.inFlight === undefined && this.holds(entry)) this.compactHeld(entry);
  }

  /** compact for an entry the table is known to hold (see `keep`). */
  private compactHeld(entry: KeyEntry): void {
    if (CompletedKeys.fits(entry)) this.entries.set(entry.handle!, this.completed.add(entry));
  }

  private producerIdOf(entry: KeyEntry | number): number | undefined {
    return typeof entry === 'number' ? this.completed.producerId(entry) : entry.producerId;
  }

  byReceiptId(receiptId: string): KeyEntry | undefined {
    const key = this.byReceipt.get(receiptId);
    return key === undefined ? undefined : this.get(key);
  }

  /**
   * A new entry, in memory only until its intent is written. Synchronous: no repeat can slip in.
   * `digest`: the key's keyDigest, if the caller has it.
   */
  begin(key: string, fingerprint: string, async: boolean, digest?: string): KeyEntry {
    let id = this.lastMissId;
    if (key !== this.lastMiss) {
      id = keyedProducerId(key, digest);
      if (this.entries.find(key, id) !== -1) throw new Error(`idempotency key '${key}' already has an entry`);
    }
    const entry = this.insert(key, id, fingerprint, this.now(), async, digest);
    this.evict();
    return entry;
  }

  /** `id`: the key's keyedProducerId, which the key table finds it by (whether or not the key claims it). */
  private insert(key: string, id: number, fingerprint: string, createdAt: number, async: boolean, digest?: string): KeyEntry {
    const entry: KeyEntry = { key, fingerprint, createdAt, async };
    const handle = this.entries.add(key, id, entry);
    entry.handle = handle;
    this.lastMiss = undefined;
    this.order.add(handle, this.entries.serial(handle));
    if (async) this.byReceipt.set(keyedReceiptId(key, digest), key);
    return entry;
  }

  /** Forgets the entry in memory (its request was refused before anything was written). */
  drop(entry: KeyEntry): void {
    if (this.holds(entry)) this.forget(entry.handle!);
  }

  /** Removes the key the table holds under `handle`. */
  private forget(handle: number): void {
    const key = this.entries.key(handle);
    const entry = this.entries.value(handle)!;
    const producerId = this.producerIdOf(entry);
    if (producerId !== undefined && !this.ownId(handle, producerId)) this.claimedIds.delete(producerId, CLAIMED);
    this.entries.remove(handle);
    const slot = typeof entry === 'number';
    if (slot ? this.completed.isAsync(entry) : entry.async) this.byReceipt.delete(keyedReceiptId(key));
    if (slot) this.completed.release(entry);
  }

  /**
   * Resolves once the intent is written: it then survives a process crash. `now` writes it at once
   * rather than at the end of the turn (see `write`), with the records queued before it, in order.
   */
  async writeIntent(entry: KeyEntry, intent: IntentRecord, now = false): Promise<void> {
    const written = this.write(entry.key, intent, 1, 'turn');
    if (now) this.flush();
    await written;
    entry.intent = intent;
  }

  /** Resolves once every record written before the call is fsynced (group commit). */
  sync(): Promise<void> {
    const synced = this.journal.sync().catch((err: unknown) => {
      throw journalFailure(err);
    });
    if (this.lazy.length > 0) {
      const lazy = this.lazy;
      this.lazy = [];
      synced.then(
        () => lazy.forEach((w) => w.resolve()),
        (err: unknown) => lazy.forEach((w) => w.reject(err)),
      );
    }
    return synced;
  }

  /** The outcomes of a request that succeeded; undefined before. */
  outcomesOf(entry: KeyEntry): ProduceOutcome[] | undefined {
    return entry.outcomeRuns === undefined ? undefined : decodeOutcomes(entry.outcomeRuns);
  }

  /**
   * Resolves once the outcome is as durable as `acks` asks (it rides on the next write, see
   * `write`); the entry may then be kept as a slot (class comment).
   */
  writeCompleted(entry: KeyEntry, acks: Acks): Promise<void> {
    if (entry.outcomeRuns === undefined) return Promise.reject(noOutcome(entry));
    return this.write(entry.key, completedRecord(entry), acks, 'lazy').then(() => this.compact(entry));
  }

  /**
   * The outcome of a request that is answered once it is written (it then has no intent in the
   * journal): written once this callback's microtasks are done (see tickFlushScheduled), then
   * `done()`, or `done(err)` if it cannot be. A callback, not a promise: this is the path of every
   * sync keyed request, and a promise, its executor and its reactions are work it need not do.
   * `done` runs inside the journal's flush and must not throw. The request holds its key in flight
   * until it is answered, so its caller keeps the entry (`keep`) after.
   */
  writeCompletedNow(entry: KeyEntry, done: (err?: unknown) => void): void {
    if (entry.outcomeRuns === undefined) return done(noOutcome(entry));
    if (this.closed) return done(closedError());
    this.enqueue(entry.key, completedRecord(entry), 'tick');
    this.waiting.push({ resolve: done, reject: done, acks: 1 });
  }

  /**
   * Keeps a succeeded entry whose outcome is written as a slot, called by the request that held it
   * in flight as it lets go: an entry in flight is never removed (expire, evict and get pass over
   * it; drop and releases come from its own request after), so the table still holds this one and
   * is not asked again.
   */
  keep(entry: KeyEntry): void {
    if (entry.outcomeRuns !== undefined && entry.inFlight === undefined) this.compactHeld(entry);
  }

  async writeReleased(entry: KeyEntry, acks: Acks): Promise<void> {
    this.drop(entry);
    await this.write(entry.key, { type: 'released', v: 0 }, acks, 'lazy');
  }

  /**
   * Resolves once the record is written (it then survives a process crash) and, for acks=all,
   * fsynced. Intents asked for in the same turn of the event loop go out in one write at its end:
   * measured, one write(2) per turn costs less CPU than a write per intent (about 14 µs a keyed
   * request more, loaded machine), though a keyed request then waits a turn before it appends.
   * Outcomes and releases are `lazy`: they wait for the next intents' write, or LAZY_MS, so
   * that a keyed request costs about one write(2), not two; they only hold a lane back, never an
   * answer, and one lost to a crash leaves its key pending, which a repeat resumes. The exception
   * (`tick`): the outcome of a sync request under its key's own producer, which has no intent
   * and is answered once it is written, goes out when the current callback's microtasks are done.
   */
  private write(key: string, record: KeyRecord, acks: Acks, when: 'tick' | 'turn' | 'lazy'): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.enqueue(key, record, when);
    return new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject, acks }));
  }

  /** Queues the record for the write `when` says (see `write`); its waiter is pushed by the caller. */
  private enqueue(key: string, record: KeyRecord, when: 'tick' | 'turn' | 'lazy'): void {
    const size = keyRecordSize(key, record);
    this.queued.keys.push(key);
    this.queued.records.push(record);
    this.queued.sizes.push(size);
    if (when === 'tick') {
      if (!this.tickFlushScheduled) {
        this.tickFlushScheduled = true;
        process.nextTick(this.flushTick);
      }
    } else if (when === 'lazy') {
      this.scheduleLazy();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushQueued);
    }
  }

  private scheduleLazy(): void {
    this.lazyTimer ??= setTimeout(this.flushLazy, LAZY_MS);
  }

  private readonly flushLazy = (): void => {
    this.lazyTimer = undefined;
    this.flush();
    if (this.lazy.length > 0) this.sync().catch(() => undefined);
  };

  /** Records nobody waits to see fsynced (those of requests under their key's own producer id) still become durable soon. */
  private readonly syncInBackground = (): void => {
    this.backgroundSync = undefined;
    if (!this.closed) this.sync().catch((err: unknown) => this.logger.warn({ err }, 'idempotency journal fsync failed'));
  };

  private readonly flushTick = (): void => {
    this.tickFlushScheduled = false;
    this.flush();
  };

  private readonly flushQueued = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.queued.sizes.length === 0) return;
    const { keys, records, sizes } = this.queued;
    const waiting = this.waiting;
    this.queued = { keys: [], records: [], sizes: [] };
    this.waiting = [];
    try {
      this.journal.appendWith(sizes, (out, pos, i) => writeKeyRecord(out, pos, keys[i], records[i]));
    } catch (err) {
      const error = journalFailure(err);
      for (const w of waiting) w.reject(error);
      return;
    }
    this.backgroundSync ??= setTimeout(this.syncInBackground, BACKGROUND_SYNC_MS).unref();
    // acks=all outcomes and releases ride on the next fsync an intent asks for (or one LAZY_MS
    // later), as they ride on its write.
    for (const w of waiting) {
      if (w.acks !== -1) {
        w.resolve();
      } else {
        this.lazy.push(w);
        this.scheduleLazy();
      }
    }
  }

  /**
   * Forgets keys past the window (creation order: stops at the first live one). A running
   * request's key is kept and goes to the back of the order (`keepRunning`).
   */
  expire(): void {
    const oldest = this.now() - this.options.ttlMs;
    let running: number[] | undefined;
    for (let handle = this.order.peek(); handle !== -1; handle = this.order.peek()) {
      const entry = this.entries.value(handle)!;
      if (this.createdAtOf(entry) >= oldest) break;
      this.order.next();
      if (typeof entry === 'number' || entry.inFlight === undefined) this.forget(handle);
      else (running ??= []).push(handle);
    }
    this.keepRunning(running);
  }

  /** Past maxKeys, forgets the oldest entries whose request is not running. */
  private evict(): void {
    let running: number[] | undefined;
    while (this.entries.size > this.options.maxKeys) {
      const handle = this.order.next();
      if (handle === -1) break;
      const entry = this.entries.value(handle)!;
      if (typeof entry === 'number' || entry.inFlight === undefined) this.forget(handle);
      else (running ??= []).push(handle);
    }
    this.keepRunning(running);
  }

  /** Puts keys taken off `order` but kept (their request is running) back, at its end. */
  private keepRunning(running: number[] | undefined): void {
    if (running !== undefined) for (const handle of running) this.order.add(handle, this.entries.serial(handle));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queued.sizes.length > 0) this.flush();
    if (this.lazy.length > 0) await this.sync().catch(() => undefined);
    clearTimeout(this.lazyTimer);
    clearTimeout(this.backgroundSync);
    this.closed = true;
    if (this.sweep !== undefined) clearInterval(this.sweep);
    await this.journal.close();
  }
}
