import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine } from '../../src/engine/embedded/embedded-engine';
import { EmbeddedTransactionCoordinator, type TransactionCoordinatorOptions } from '../../src/coordinator/transaction/embedded-transaction-coordinator';
import { TRANSACTION_STATE_TOPIC } from '../../src/coordinator/transaction/transaction-records';
import { defer, ManualClock, silentLogger, tempDir } from '../engine/embedded/helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** An engine and transaction coordinator on `dir` and `clock`; the test runs retention and the coordinator's sweep by hand. */
async function open(dir: string, clock: ManualClock, options: TransactionCoordinatorOptions = {}) {
  const engine = new EmbeddedEngine({ dataDir: dir, now: clock.now, retentionCheckIntervalMs: 3_600_000 }, silentLogger);
  await engine.start();
  const txns = new EmbeddedTransactionCoordinator(engine, undefined, { stateTopicPartitions: 1, abortCheckIntervalMs: 3_600_000, now: clock.now, ...options }, silentLogger);
  await txns.start();
  return {
    engine,
    txns,
    async close() {
      await txns.close();
      await engine.close();
    },
  };
}

async function commitEmpty(txns: EmbeddedTransactionCoordinator, transactionalId: string) {
  const meta = await txns.begin({ transactionalId });
  return txns.end(meta.transactionId, true);
}

async function pass(node: Awaited<ReturnType<typeof open>>, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await node.txns.runSweep();
  await node.engine.runRetention();
}

async function logStartOffset(engine: EmbeddedEngine): Promise<number> {
  return (await engine.describeTopic(TRANSACTION_STATE_TOPIC)).partitions[0]!.logStartOffset;
}

test('a transactional id unused for longer than the topic retention keeps its producer id and epoch, also after a restart', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const options = { transactionalIdExpirationMs: 60 * DAY };
  let node = await open(dir, clock, options);
  defer(t, () => node.close());
  const quiet = await commitEmpty(node.txns, 'quiet');
  for (let i = 0; i < 24; i++) {
    await commitEmpty(node.txns, 'busy');
    await pass(node, clock, 12 * HOUR);
  }
  assert.ok((await logStartOffset(node.engine)) > 0, 'retention deleted segments of the state topic');
  assert.equal(node.txns.byTransactionalId('quiet')?.producerId, quiet.producerId);

  await node.close();
  node = await open(dir, clock, options);
  const reloaded = node.txns.byTransactionalId('quiet');
  assert.equal(reloaded?.producerId, quiet.producerId);
  assert.equal(reloaded?.producerEpoch, quiet.producerEpoch);
  assert.equal(reloaded?.state, 'CompleteCommit');
  const next = await node.txns.begin({ transactionalId: 'quiet' });
  assert.equal(next.producerId, quiet.producerId, 'the next session keeps the producer id');
  assert.equal(next.producerEpoch, quiet.producerEpoch + 1, 'and bumps its epoch, fencing the old one');
});

test('a transactional id past transactional.id.expiration.ms is forgotten with a tombstone: a restart does not bring it back', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const options = { transactionalIdExpirationMs: 3 * DAY };
  let node = await open(dir, clock, options);
  defer(t, () => node.close());
  await commitEmpty(node.txns, 'idle');
  await pass(node, clock, 2 * DAY);
  assert.notEqual(node.txns.byTransactionalId('idle'), undefined);
  await pass(node, clock, 1 * DAY + 1);
  assert.equal(node.txns.byTransactionalId('idle'), undefined);
  assert.equal(await logStartOffset(node.engine), 0, 'the record is still in the log: only the tombstone hides it');

  await node.close();
  node = await open(dir, clock, options);
  assert.equal(node.txns.byTransactionalId('idle'), undefined);
});
