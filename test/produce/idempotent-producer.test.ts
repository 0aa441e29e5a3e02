import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import { EngineError } from '../../src/engine/engine-error';
import { DefaultPartitioner } from '../../src/engine/partitioner';
import { CALLER_PRODUCER_ID_BASE, type AppendOptions, type ProducerRecord } from '../../src/engine/storage-engine';
import { ProduceService, type ProduceInput, type ProduceOutcome } from '../../src/produce/produce-service';
import { IdempotencyKeyStore } from '../../src/produce/idempotency/idempotency-key-store';
import { IdempotentProducer } from '../../src/produce/idempotency/idempotent-producer';
import { keyedProducerId } from '../../src/produce/idempotency/keyed-producer-id';
import { defer, readAllValues, tempDir } from '../engine/embedded/helpers';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeKeyRecord } from '../../src/produce/idempotency/idempotency-records';

const silent = pino({ level: 'silent' });

interface Seen {
  partition: number;
  producer: AppendOptions['producer'];
}

/**
 * The produce stack on `dataDir` (engine, topic of two partitions) and the key journal in
 * `journalDir`. `faults.lose` makes the key journal's writes vanish, as if the process died before
 * the turn's journal write; `faults.fail` makes a partition's appends fail before they are written.
 */
async function open(t: TestContext, dataDir: string, journalDir: string, producerIdOf?: (key: string) => number) {
  const engine = new EmbeddedEngine({ dataDir, defaultPartitions: 2, retentionCheckIntervalMs: 3_600_000 }, silent);
  await engine.start();
  const faults: { lose: boolean; fail: number; holdOutcome?: () => Promise<void>; holdIntent?: () => Promise<void> } = { lose: false, fail: -1 };
  const seen: Seen[] = [];
  const append = engine.append.bind(engine);
  engine.append = (topic: string, partition: number, records: ProducerRecord[], options: AppendOptions) => {
    seen.push({ partition, producer: options.producer });
    if (partition === faults.fail) return Promise.reject(new EngineError('NOT_LEADER_OR_FOLLOWER', 'injected: never reached the log'));
    return append(topic, partition, records, options);
  };
  const produce = new ProduceService(engine, new DefaultPartitioner(), { autoCreateTopics: true, numPartitions: 2, retries: 0 }, silent);
  const store = new IdempotencyKeyStore(journalDir, { ttlMs: 60_000, maxKeys: 1000 }, silent);
  const writeIntent = store.writeIntent.bind(store);
  store.writeIntent = (entry, intent, now) => {
    if (faults.lose) return Promise.resolve();
    return faults.holdIntent === undefined ? writeIntent(entry, intent, now) : faults.holdIntent().then(() => writeIntent(entry, intent, now));
  };
  const writeCompleted = store.writeCompleted.bind(store);
  store.writeCompleted = (entry, acks) => {
    if (faults.lose) return Promise.resolve();
    // held: as a journal write not yet made at the end of the turn
    return faults.holdOutcome === undefined ? writeCompleted(entry, acks) : faults.holdOutcome().then(() => writeCompleted(entry, acks));
  };
  const writeCompletedNow = store.writeCompletedNow.bind(store);
  store.writeCompletedNow = (entry, done) => {
    if (faults.lose) return done();
    if (faults.holdOutcome === undefined) return writeCompletedNow(entry, done);
    void faults.holdOutcome().then(() => writeCompletedNow(entry, done));
  };
  const producer = new IdempotentProducer(produce, store, silent, producerIdOf);
  producer.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await producer.close();
    await engine.close();
  };
  defer(t, close);
  const send = async (key: string, records: ProduceInput[]): Promise<{ outcomes: ProduceOutcome[]; repeated: boolean }> => {
    const fingerprint = JSON.stringify(records);
    const run = await producer.send({ key, fingerprint, topic: 'orders', records, acks: 1, async: false });
    return { outcomes: await run.done, repeated: run.repeated };
  };
  return { engine, seen, faults, send, close, producer };
}

const value = (v: string, partition?: number): ProduceInput => ({ key: null, value: v, partition });

test('a keyed request is sent as its key\'s own producer (epoch 0, sequence 0 on each partition); its keyless records go where the key says', async (t) => {
  const a = await open(t, tempDir(t), tempDir(t));
  const { outcomes } = await a.send('k1', [value('x'), value('y'), value('z', 0), value('w', 1)]);
  const id = keyedProducerId('k1');
  const keyless = id % 2;
  assert.deepEqual(outcomes.map((o) => o.partition), [keyless, keyless, 0, 1]);
  assert.deepEqual(
    a.seen.map((s) => s.producer),
    [0, 1].map(() => ({ producerId: id, producerEpoch: 0, baseSequence: 0 })),
  );
});

test('a crash between the appends and the journal write: the retry is answered from the log and appends only what is missing', async (t) => {
  const dataDir = tempDir(t);
  const a = await open(t, dataDir, tempDir(t));
  a.faults.lose = true;
  a.faults.fail = 1;
  const body = [value('to-0', 0), value('to-1', 1)];
  await assert.rejects(a.send('pay-1', body), { code: 'NOT_LEADER_OR_FOLLOWER' });
  await a.engine.partitionLog('orders', 0)!.flush();
  assert.deepEqual(await readAllValues(a.engine, 'orders', 0), ['to-0']);
  await a.close();

  // The journal knew nothing of the key: the log alone makes the retry safe.
  const b = await open(t, dataDir, tempDir(t));
  const retry = await b.send('pay-1', body);
  assert.equal(retry.repeated, false);
  assert.deepEqual(retry.outcomes.map((o) => [o.partition, o.offset]), [[0, 0], [1, 0]]);
  assert.deepEqual(await readAllValues(b.engine, 'orders', 0), ['to-0'], 'partition 0\'s batch was found, not appended again');
  assert.deepEqual(await readAllValues(b.engine, 'orders', 1), ['to-1']);
  assert.equal((await b.send('pay-1', body)).repeated, true, 'the journal has it now');

  // A key the journal lost, reused with another body: refused where the log shows a different batch.
  b.faults.lose = true;
  const first = await b.send('pay-2', [value('one', 0)]);
  await b.close();
  const c = await open(t, dataDir, tempDir(t));
  await assert.rejects(c.send('pay-2', [value('one', 0), value('two', 0)]), { kind: 'IDEMPOTENCY_KEY_REUSED' });
  const same = await c.send('pay-2', [value('one', 0)]);
  assert.deepEqual(same.outcomes, first.outcomes, 'the refusal freed the key for its first body');
  assert.deepEqual(await readAllValues(c.engine, 'orders', 0), ['to-0', 'one']);
});

test('two keys with one producer id: the later one goes under an allocated id and is written, also after a restart', async (t) => {
  const dataDir = tempDir(t);
  const journalDir = tempDir(t);
  const collide = () => CALLER_PRODUCER_ID_BASE + 7;
  const a = await open(t, dataDir, journalDir, collide);
  const first = await a.send('a', [value('A', 0)]);
  const second = await a.send('b', [value('B', 0)]);
  assert.deepEqual([first.outcomes[0].offset, second.outcomes[0].offset], [0, 1], 'b was appended, not taken for a repeat of a');
  assert.equal(a.seen[0].producer?.producerId, CALLER_PRODUCER_ID_BASE + 7);
  assert.ok(a.seen[1].producer!.producerId < CALLER_PRODUCER_ID_BASE, 'b went under an allocated id');
  await a.close();

  const b = await open(t, dataDir, journalDir, collide);
  assert.deepEqual(await b.send('b', [value('B', 0)]), { outcomes: second.outcomes, repeated: true });
  const third = await b.send('c', [value('C', 0)]);
  assert.equal(third.outcomes[0].offset, 2, 'the replayed table still holds the id for a');
  assert.ok(b.seen[0].producer!.producerId < CALLER_PRODUCER_ID_BASE);
  assert.deepEqual(await readAllValues(b.engine, 'orders', 0), ['A', 'B', 'C']);
});

test('a key reused after its window is a new request: appended again, though the engine saw its producer id a window ago', async (t) => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const windowMs = 60_000;
  const engine = new EmbeddedEngine({ dataDir: tempDir(t), defaultPartitions: 1, retentionCheckIntervalMs: 3_600_000, now: clock, callerProducerIdExpirationMs: windowMs }, silent);
  await engine.start();
  const produce = new ProduceService(engine, new DefaultPartitioner(), { autoCreateTopics: true, numPartitions: 1, retries: 0 }, silent);
  const store = new IdempotencyKeyStore(tempDir(t), { ttlMs: windowMs, maxKeys: 1000, now: clock }, silent);
  const producer = new IdempotentProducer(produce, store, silent);
  producer.start();
  defer(t, async () => {
    await producer.close();
    await engine.close();
  });
  const send = async (v: string) => {
    const records = [value(v)];
    const run = await producer.send({ key: 'order-7', fingerprint: JSON.stringify(records), topic: 'orders', records, acks: 1, async: false });
    return { offset: (await run.done)[0].offset, repeated: run.repeated };
  };
  assert.deepEqual(await send('first'), { offset: 0, repeated: false });
  now += windowMs;
  assert.deepEqual(await send('first'), { offset: 0, repeated: true }, 'within the window: the first answer');
  now += 1;
  assert.deepEqual(await send('second'), { offset: 1, repeated: false }, 'past it: a new request');
  assert.deepEqual(await readAllValues(engine, 'orders', 0), ['first', 'second']);
});

/** Every record of the key journal in `dir`, oldest first, as [type, key]. */
function journalRecords(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of readdirSync(dir).sort()) {
    const bytes = readFileSync(join(dir, name));
    for (let pos = 0; pos + 8 <= bytes.length; pos += 8 + bytes.readUInt32BE(pos)) {
      const decoded = decodeKeyRecord(bytes.subarray(pos + 8, pos + 8 + bytes.readUInt32BE(pos)));
      if (decoded !== undefined) out.push([decoded.record.type, decoded.key]);
    }
  }
  return out;
}

test('a sync keyed request is answered once its outcome record is written, its one record; appends that fail write the intent for the repeat', async (t) => {
  const journalDir = tempDir(t);
  const a = await open(t, tempDir(t), journalDir);
  await a.send('one', [value('x', 0)]);
  assert.deepEqual(journalRecords(journalDir), [['completed', 'one']], 'on disk when answered, with no intent before it');
  a.faults.fail = 1;
  await assert.rejects(a.send('two', [value('y', 0), value('z', 1)]), { code: 'NOT_LEADER_OR_FOLLOWER' });
  a.faults.fail = -1;
  const resumed = await a.send('two', [value('y', 0), value('z', 1)]);
  assert.equal(resumed.repeated, false);
  assert.deepEqual(resumed.outcomes.map((o) => [o.partition, o.offset]), [[0, 1], [1, 0]], 'partition 0\'s batch was found, partition 1\'s appended');
  assert.deepEqual(await readAllValues(a.engine, 'orders', 0), ['x', 'y']);
  // The resume's outcome follows its answer (it has an intent), lazily: close writes what is queued.
  await a.close();
  assert.deepEqual(journalRecords(journalDir), [['completed', 'one'], ['intent', 'two'], ['completed', 'two']]);
});

/** Holds every outcome record's write until `release`; `outcomeKnown` resolves when the first is reached. */
function holdOutcomeWrites(faults: { holdOutcome?: () => Promise<void> }): { outcomeKnown: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reached = (): void => undefined;
  const outcomeKnown = new Promise<void>((resolve) => (reached = resolve));
  faults.holdOutcome = () => {
    reached();
    return held;
  };
  return { outcomeKnown, release };
}

test('a repeat that comes while the first request\'s outcome is being written is answered after that write, as the first is', async (t) => {
  const journalDir = tempDir(t);
  const a = await open(t, tempDir(t), journalDir);
  const { outcomeKnown, release } = holdOutcomeWrites(a.faults);
  const request = { key: 'k', fingerprint: 'f', topic: 'orders', records: [value('x', 0)], acks: 1 as const, async: false };
  const first = await a.producer.send(request);
  let answered = 0;
  void first.done.then(() => answered++);
  await outcomeKnown;
  const repeat = await a.producer.send({ ...request, records: [value('x', 0)] });
  assert.equal(repeat.repeated, true);
  void repeat.done.then(() => answered++);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, 0, 'neither is answered before the outcome is written');
  release();
  assert.deepEqual(await repeat.done, await first.done);
  assert.deepEqual(journalRecords(journalDir), [['completed', 'k']]);
});

test('close waits for a sync keyed request still running: its outcome is written and it is answered, not failed by a closed journal', async (t) => {
  const journalDir = tempDir(t);
  const a = await open(t, tempDir(t), journalDir);
  const { outcomeKnown, release } = holdOutcomeWrites(a.faults);
  const first = await a.producer.send({ key: 'k', fingerprint: 'f', topic: 'orders', records: [value('x', 0)], acks: 1, async: false });
  const answer = first.done.then(
    (outcomes) => outcomes,
    (err: unknown) => err,
  );
  await outcomeKnown;
  const closing = a.producer.close();
  release();
  await closing;
  const outcomes = await answer;
  assert.ok(Array.isArray(outcomes), `answered with its offsets, not ${String(outcomes)}`);
  assert.deepEqual(outcomes.map((o) => [o.partition, o.offset]), [[0, 0]]);
  assert.deepEqual(journalRecords(journalDir), [['completed', 'k']], 'a clean stop leaves the key written');
});

test('a sync keyed request whose appends fail is answered once its intent is written, as every answer waits for the key\'s journal record', async (t) => {
  const journalDir = tempDir(t);
  const a = await open(t, tempDir(t), journalDir);
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reached = (): void => undefined;
  const intentAsked = new Promise<void>((resolve) => (reached = resolve));
  a.faults.holdIntent = () => {
    reached();
    return held;
  };
  a.faults.fail = 1;
  const first = await a.producer.send({ key: 'f', fingerprint: 'x', topic: 'orders', records: [value('y', 0), value('z', 1)], acks: 1, async: false });
  let answered = false;
  const answer = first.done.then(
    () => assert.fail('the appends failed'),
    (err: unknown) => {
      answered = true;
      return err;
    },
  );
  await intentAsked;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, false, 'not answered before its intent is written');
  release();
  assert.equal(((await answer) as EngineError).code, 'NOT_LEADER_OR_FOLLOWER');
  assert.deepEqual(journalRecords(journalDir), [['intent', 'f']]);
});
