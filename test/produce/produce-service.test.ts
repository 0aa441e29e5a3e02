import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { EngineError } from '../../src/engine/engine-error';
import { DefaultPartitioner } from '../../src/engine/partitioner';
import type { AppendOptions, AppendResult, ProducerRecord } from '../../src/engine/storage-engine';
import { ProduceService } from '../../src/produce/produce-service';
import { readAllValues, startEngine, tempDir } from '../engine/embedded/helpers';

const silent = pino({ level: 'silent' });

/**
 * A real embedded engine whose append answers are lost on demand: the batch is written, then the
 * caller gets a retriable error, as when a response times out on the way back.
 */
async function lossyEngine(t: TestContext) {
  const engine = await startEngine(t, tempDir(t));
  const seen: Array<AppendOptions['producer']> = [];
  let loseNext = 0;
  let failNext = 0;
  const append = engine.append.bind(engine);
  engine.append = async (topic: string, partition: number, records: ProducerRecord[], options: AppendOptions): Promise<AppendResult> => {
    seen.push(options.producer);
    if (failNext > 0) {
      failNext--;
      throw new EngineError('REQUEST_TIMED_OUT', 'injected: never reached the log');
    }
    const result = await append(topic, partition, records, options);
    if (loseNext > 0) {
      loseNext--;
      throw new EngineError('REQUEST_TIMED_OUT', 'injected: the answer was lost');
    }
    return result;
  };
  return {
    engine,
    seen,
    loseAnswers: (n: number) => (loseNext = n),
    failAppends: (n: number) => (failNext = n),
  };
}

function service(engine: ConstructorParameters<typeof ProduceService>[0], retries = 2) {
  return new ProduceService(engine, new DefaultPartitioner(), { autoCreateTopics: true, numPartitions: 1, retries, retryBackoffMs: 1 }, silent);
}

const value = (v: string) => ({ key: null, value: Buffer.from(v) });

test('a resend after a lost answer is a duplicate: one copy, the first offsets', async (t) => {
  const { engine, seen, loseAnswers } = await lossyEngine(t);
  const produce = service(engine);
  await produce.produce('retry', [value('a')], -1);
  loseAnswers(2);
  const outcomes = await produce.produce('retry', [value('b'), value('c')], -1);
  assert.deepEqual(outcomes.map((o) => o.offset), [1, 2]);
  assert.deepEqual(await readAllValues(engine, 'retry'), ['a', 'b', 'c']);
  const resends = seen.slice(1);
  assert.equal(resends.length, 3, 'the first send and two resends');
  for (const p of resends) assert.deepEqual(p, resends[0], 'every resend carries the same producer id, epoch and sequence');
  assert.equal(resends[0]!.baseSequence, 1, 'the lane went on from the first request');
});

test('retries stop after the configured count; a lane in doubt is retired, a refused one reused', async (t) => {
  const { engine, seen, failAppends } = await lossyEngine(t);
  const produce = service(engine, 1);
  await engine.createTopic({ name: 'small', configs: { 'max.message.bytes': '100' } });
  failAppends(5);
  await assert.rejects(produce.produce('small', [value('x')], 1), { code: 'REQUEST_TIMED_OUT' });
  assert.equal(seen.length, 2, 'one send, one resend');
  await new Promise((r) => setImmediate(r));
  assert.equal(produce.lanes.retired, 1);
  failAppends(0);
  await assert.rejects(produce.produce('small', [value('y'.repeat(200))], 1), { code: 'RECORD_TOO_LARGE' });
  await new Promise((r) => setImmediate(r));
  assert.equal(produce.lanes.retired, 1, 'a refusal leaves the lane sound');
  const lane = seen[2]!.producerId;
  await produce.produce('small', [value('z')], 1);
  assert.equal(seen[3]!.producerId, lane, 'the refused lane serves the next request');
  assert.equal(seen[3]!.baseSequence, 0, 'at the sequence the refused batch did not use');
  assert.deepEqual(await readAllValues(engine, 'small'), ['z']);
});

test('on an engine without producer ids appends carry no identity and are not resent', async (t) => {
  const { engine, seen, loseAnswers } = await lossyEngine(t);
  const bare = Object.create(engine) as typeof engine;
  Object.defineProperty(bare, 'allocateProducerIds', { value: undefined });
  const produce = service(bare);
  assert.equal(produce.lanes.enabled, false);
  loseAnswers(1);
  await assert.rejects(produce.produce('plain', [value('a')], 1), { code: 'REQUEST_TIMED_OUT' });
  assert.deepEqual(seen, [undefined]);
});
