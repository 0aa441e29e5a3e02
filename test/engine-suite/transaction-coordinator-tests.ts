import assert from 'node:assert/strict';
import { isEngineError } from '../../src/engine/engine-error';
import { isTransactionError } from '../../src/coordinator/transaction/transaction-error';
import type { TransactionCoordinator } from '../../src/coordinator/transaction/transaction-coordinator';
import type { TransactionMetadata } from '../../src/coordinator/transaction/transaction-metadata';
import type { StorageEngine } from '../../src/engine/storage-engine';
import type { SuiteContext } from './suite';
import { eventually } from './group-helpers';
import { record, text } from './suite-helpers';

/** A transactional append of the session, as the HTTP transactions layer makes it. */
function appendIn(engine: StorageEngine, meta: TransactionMetadata, topic: string, values: string[], baseSequence = 0) {
  return engine.append(topic, 0, values.map((v) => record(v)), {
    acks: 1,
    producer: { producerId: meta.producerId, producerEpoch: meta.producerEpoch, baseSequence },
    transactional: true,
    transactionalId: meta.transactionalId,
  });
}

/** Every value a read_committed reader gets from offset 0, fetching until nothing more comes (a Kafka broker may answer one batch at a time). */
async function committedValues(engine: StorageEngine, topic: string): Promise<Array<string | null>> {
  const out: Array<string | null> = [];
  let offset = 0;
  for (let round = 0; round < 50; round++) {
    const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset }], maxBytes: 1 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
    const p = res.partitions[0]!;
    out.push(...p.records.map((r) => text(r.value)));
    if (p.nextOffset <= offset || p.nextOffset >= p.lastStableOffset) return out;
    offset = p.nextOffset;
  }
  throw new Error(`${topic}-0 did not end within 50 fetches`);
}

/** Runs `fn` with a started transaction coordinator of the engine under test, closed afterwards. */
async function withCoordinator(s: SuiteContext, fn: (c: TransactionCoordinator) => Promise<void>): Promise<void> {
  const make = s.current.transactionCoordinator;
  assert.ok(make !== undefined, 'the engine under test declares coordinated transactions but gives no coordinator');
  const coordinator = make();
  await coordinator.start();
  try {
    await fn(coordinator);
  } finally {
    await coordinator.close();
  }
}

/** A new one-partition topic and a transaction of `<topic>-tx` begun over its partition 0. */
async function beginOnNewTopic(s: SuiteContext, coordinator: TransactionCoordinator, name: string): Promise<{ topic: string; meta: TransactionMetadata }> {
  const topic = s.topicName(name);
  await s.current.createTopic(topic, 1);
  return { topic, meta: await coordinator.begin({ transactionalId: `${topic}-tx`, partitions: [{ topic, partition: 0 }] }) };
}

/**
 * Transactions through the engine's own transaction coordinator (the embedded one, or Kafka's), as
 * the HTTP transactions layer drives them: begin with partitions, transactional appends with the
 * session's producer, commit or abort.
 */
export function defineTransactionCoordinatorTests(s: SuiteContext): void {
  s.it('transaction coordinator: a committed transaction is read by read_committed readers', ['coordinatedTransactions'], () =>
    withCoordinator(s, async (coordinator) => {
      const { engine } = s.current;
      const { topic, meta } = await beginOnNewTopic(s, coordinator, 'tc-commit');
      await appendIn(engine, meta, topic, ['one', 'two']);
      await appendIn(engine, meta, topic, ['three'], 2);
      assert.equal((await coordinator.end(meta.transactionId, true)).state, 'CompleteCommit');
      assert.deepEqual(await committedValues(engine, topic), ['one', 'two', 'three']);
    }),
  );

  s.it('transaction coordinator: open records are held back and aborted ones never shown to read_committed', ['coordinatedTransactions', 'transactionMarkers'], () =>
    withCoordinator(s, async (coordinator) => {
      const { engine } = s.current;
      const { topic, meta: aborted } = await beginOnNewTopic(s, coordinator, 'tc-abort');
      await appendIn(engine, aborted, topic, ['dropped']);
      assert.deepEqual(await committedValues(engine, topic), [], 'an open transaction is held back');
      await coordinator.end(aborted.transactionId, false);
      const kept = await coordinator.begin({ transactionalId: `${topic}-tx`, partitions: [{ topic, partition: 0 }] });
      await appendIn(engine, kept, topic, ['kept']);
      await coordinator.end(kept.transactionId, true);
      // Kafka writes markers after answering EndTxn: bounded wait for the last stable offset to pass them.
      let seen: Array<string | null> = [];
      await eventually('the committed transaction is read_committed', async () => (seen = await committedValues(engine, topic)).length > 0, 5000);
      assert.deepEqual(seen, ['kept']);
    }),
  );

  s.it('transaction coordinator: a new session of the transactional id fences the open one', ['coordinatedTransactions'], () =>
    withCoordinator(s, async (coordinator) => {
      const { topic, meta: first } = await beginOnNewTopic(s, coordinator, 'tc-fence');
      const second = await coordinator.begin({ transactionalId: `${topic}-tx` });
      await assert.rejects(coordinator.end(first.transactionId, true), (e: unknown) => isTransactionError(e, 'PRODUCER_FENCED'));
      assert.equal((await coordinator.end(second.transactionId, true)).state, 'CompleteCommit');
    }),
  );

  s.it("transaction coordinator: a fenced session's late append is refused by the partition", ['coordinatedTransactions', 'transactionMarkers'], () =>
    withCoordinator(s, async (coordinator) => {
      const { engine } = s.current;
      const { topic, meta: first } = await beginOnNewTopic(s, coordinator, 'tc-late');
      await appendIn(engine, first, topic, ['early']);
      await coordinator.begin({ transactionalId: `${topic}-tx` });
      await assert.rejects(appendIn(engine, first, topic, ['late'], 1), (e: unknown) => isEngineError(e) && (e.code === 'INVALID_PRODUCER_EPOCH' || e.code === 'PRODUCER_FENCED'));
    }),
  );
}
