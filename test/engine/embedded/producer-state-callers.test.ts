import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProducerStateManager } from '../../../src/engine/embedded/producer-state-manager';
import { decodeSnapshot, encodeSnapshot } from '../../../src/engine/embedded/producer-state-snapshot';
import { CALLER_PRODUCER_ID_BASE, type AppendResult } from '../../../src/engine/storage-engine';
import { batch, code } from './producer-state-helpers';
import { readAllValues, recs, startEngine, tempDir } from './helpers';

const BASE = CALLER_PRODUCER_ID_BASE;
/** Spread like keyed producer ids (a hash's bits), so consecutive ones share no low bits. */
const id = (n: number): number => BASE + ((n * 2_654_435_761) % 2 ** 52);

/** The caller ids `m` still knows among id(0) .. id(n - 1). */
function known(m: ProducerStateManager, n: number, now = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (m.check(id(i), 0, 0, 1, now) !== undefined) out.push(i);
  return out;
}

test('caller producers: a one-batch producer answers its retry with its offsets and append, appends again and is fenced as any producer', async () => {
  const m = new ProducerStateManager('t-0');
  const result = { baseOffset: 7 } as AppendResult;
  m.update(id(1), 0, { ...batch(0, 3, 7), written: Promise.resolve(result), acks: 1 }, 5);
  const dup = m.check(id(1), 0, 0, 3, 5);
  assert.equal(dup?.firstOffset, 7);
  assert.equal(dup?.lastOffset, 9);
  assert.equal(dup?.timestamp, 1007);
  assert.equal(dup?.acks, 1);
  assert.equal(await dup?.written, result, 'a retry of a batch being written waits for that very append');
  assert.equal(code(() => m.check(id(1), 0, 0, 4, 5)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'same first sequence, another count');
  assert.equal(m.check(id(1), 0, 3, 1, 5), undefined, 'the next sequence');
  m.update(id(1), 0, batch(3, 1, 20), 6);
  assert.equal(m.check(id(1), 0, 0, 3, 6)?.firstOffset, 7, 'the first batch is still remembered beside the second');
  assert.equal(m.check(id(1), 0, 3, 1, 6)?.firstOffset, 20);
  m.update(id(1), 1, batch(0, 1, 30), 7);
  assert.equal(code(() => m.check(id(1), 0, 4, 1, 7)), 'INVALID_PRODUCER_EPOCH');
  assert.equal(m.entry(id(1))?.batches.length, 1, 'a new epoch forgets the old batches');
  assert.equal(m.producerCount, 1);
  assert.equal(m.mapEndOffset, 31);
});

test('caller producers: an entry handed out stays the producer\'s state (a marker\'s epoch bump is kept)', () => {
  const m = new ProducerStateManager('t-0');
  m.update(id(2), 0, batch(0, 1, 0), 1);
  const entry = m.entry(id(2));
  assert.ok(entry !== undefined);
  entry.producerEpoch = 3;
  entry.batches = [];
  assert.equal(code(() => m.check(id(2), 2, 0, 1, 1)), 'INVALID_PRODUCER_EPOCH');
  assert.equal(m.entry(id(2)), entry);
});

test('caller producers: past the bound the oldest go first, across the ring\'s wrap-around and growth', () => {
  const max = 100;
  const m = new ProducerStateManager('t-0', 86_400_000, max);
  // 1,000 producers through a bound of 100: the ring grows to 128 slots and wraps around many times
  for (let i = 0; i < 1000; i++) {
    m.update(id(i), 0, batch(0, 1, i), i);
    assert.ok(m.producerCount <= max);
  }
  assert.deepEqual(known(m, 1000, 1000), Array.from({ length: max }, (_, i) => 900 + i));
  assert.equal(m.check(id(950), 0, 0, 1, 1000)?.firstOffset, 950);
  // removed out of order (a producer asked about past its window) leaves a gap the ring skips
  const windowed = new ProducerStateManager('t-0', 1000, 4, 50);
  for (let i = 0; i < 4; i++) windowed.update(id(i), 0, batch(0, 1, i), i === 1 ? 0 : 100);
  assert.equal(windowed.check(id(1), 0, 0, 1, 100), undefined, 'idle past its window: a new producer');
  assert.equal(windowed.producerCount, 3);
  windowed.update(id(4), 0, batch(0, 1, 4), 100);
  assert.deepEqual(known(windowed, 5, 100), [0, 2, 3, 4], 'the gap made room: nobody else went');
  windowed.update(id(5), 0, batch(0, 1, 5), 100);
  assert.deepEqual(known(windowed, 6, 100), [2, 3, 4, 5], 'then the oldest goes');
});

test('caller producers: idle past the window, the oldest go as new ones come; removeExpired takes them from anywhere', () => {
  const m = new ProducerStateManager('t-0', 86_400_000, 1000, 100);
  m.update(id(0), 0, batch(0, 1, 0), 0);
  m.update(id(1), 0, batch(0, 1, 1), 50);
  m.update(id(2), 0, batch(0, 1, 2), 60);
  m.update(id(1), 0, batch(1, 1, 3), 120);
  m.update(id(3), 0, batch(0, 1, 4), 130);
  assert.equal(m.producerCount, 3, 'id 0, idle 130 ms, went when id 3 came');
  assert.equal(m.removeExpired(170, 86_400_000), 1, 'id 2 (last append at 60) is idle past 100 ms; id 1 appended again at 120');
  assert.equal(m.producerCount, 2);
  assert.equal(m.check(id(1), 0, 1, 1, 170)?.firstOffset, 3);
  assert.equal(m.check(id(3), 0, 0, 1, 170)?.firstOffset, 4);
  assert.equal(m.check(id(2), 0, 0, 1, 170), undefined);
});

test('caller producers: ids that share their low 30 bits are told apart', () => {
  const m = new ProducerStateManager('t-0');
  const a = BASE + 12_345;
  const b = a + 2 ** 30;
  const c = b + 2 ** 30;
  m.update(a, 0, batch(0, 1, 1), 1);
  m.update(b, 0, batch(0, 1, 2), 1);
  m.update(c, 0, batch(0, 1, 3), 1);
  assert.deepEqual([a, b, c].map((p) => m.check(p, 0, 0, 1, 1)?.firstOffset), [1, 2, 3]);
  assert.equal(m.check(a + 2 ** 31 + 2 ** 30, 0, 0, 1, 1), undefined, 'same low bits, unknown id');
  m.removeExpired(10 ** 10, 1);
  m.update(b, 0, batch(0, 1, 4), 10 ** 10);
  assert.deepEqual([a, b, c].map((p) => m.check(p, 0, 0, 1, 10 ** 10)?.firstOffset), [undefined, 4, undefined]);
});

test('caller producers: a snapshot restores them in their order, beside ordinary producers', () => {
  const m = new ProducerStateManager('t-0', 86_400_000, 3);
  m.update(7, 2, batch(0, 2, 0), 10);
  for (let i = 0; i < 3; i++) m.update(id(i), 0, batch(0, 1, 10 + i), 20 + i);
  m.update(id(1), 0, batch(1, 2, 20), 30);
  const restored = new ProducerStateManager('t-0', 86_400_000, 3);
  restored.restore(decodeSnapshot(encodeSnapshot(m.entries())), 22);
  assert.deepEqual([...restored.entries()], [...m.entries()].map((e) => ({ ...e, batches: e.batches.map(({ written: _w, acks: _a, ...b }) => b) })));
  assert.equal(restored.producerCount, 4);
  assert.equal(restored.check(id(1), 0, 1, 2, 30)?.firstOffset, 20, 'a producer of two batches keeps both');
  assert.equal(restored.check(id(1), 0, 0, 1, 30)?.firstOffset, 11);
  restored.update(id(3), 0, batch(0, 1, 23), 40);
  assert.deepEqual(known(restored, 4, 40), [1, 2, 3], 'the oldest restored caller goes first');
  assert.equal(restored.check(7, 2, 0, 2, 40)?.firstOffset, 0);
});

test('caller producers: a full ring at the bound closes the gap of a removed producer instead of growing', () => {
  const m = new ProducerStateManager('t-0', 1000, 64, 50);
  for (let i = 0; i < 64; i++) m.update(id(i), 0, batch(0, 1, i), i === 10 ? 0 : 100);
  assert.equal(m.check(id(10), 0, 0, 1, 100), undefined, 'idle past its window');
  m.update(id(64), 0, batch(0, 1, 64), 100);
  const all = Array.from({ length: 65 }, (_, i) => i);
  assert.deepEqual(known(m, 65, 100), all.filter((i) => i !== 10));
  m.update(id(65), 0, batch(0, 1, 65), 100);
  assert.deepEqual(known(m, 66, 100), [...all.filter((i) => i !== 0 && i !== 10), 65], 'the oldest goes, in order');
  assert.equal(m.check(id(40), 0, 0, 1, 100)?.firstOffset, 40);
});

test('caller producers: an append\'s promise is kept until the partition says that append or a later one is written, then dropped with its acks', () => {
  const m = new ProducerStateManager('t-0');
  for (const i of [0, 1, 2]) m.update(id(i), 0, { ...batch(0, 1, 10 + i), written: new Promise<AppendResult>(() => undefined), acks: -1 }, 1);
  const held = () => [0, 1, 2].map((i) => m.check(id(i), 0, 0, 1, 1)?.written !== undefined);
  assert.deepEqual(held(), [true, true, true], 'a retry of an append being written waits for it');
  m.written(9);
  assert.deepEqual(held(), [true, true, true], 'nothing of theirs written yet');
  m.written(11);
  assert.deepEqual(held(), [false, false, true], 'written up to offset 11: the appends at 10 and 11 are');
  const dropped = m.check(id(0), 0, 0, 1, 1);
  assert.equal(dropped?.acks, undefined, 'an acks=all retry then checks the fsync itself');
  assert.equal(dropped?.firstOffset, 10);
  m.written(12);
  assert.deepEqual(held(), [false, false, false]);
});

test('engine: a keyed producer\'s retry finds the first append written and, for acks=all, fsynced; the partition drops the promise once written', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'keyed' });
  const producer = { producerId: CALLER_PRODUCER_ID_BASE + 77, producerEpoch: 0, baseSequence: 0 };
  const first = await engine.append('keyed', 0, recs(2, 'a'), { acks: 1, producer });
  const log = engine.partitionLog('keyed', 0)!;
  const state = (log as unknown as { producerState: ProducerStateManager }).producerState;
  assert.equal(state.check(producer.producerId, 0, 0, 2, Date.now())?.written, undefined, 'written: the slot holds no promise');
  const retry = await engine.append('keyed', 0, recs(2, 'a'), { acks: -1, producer });
  assert.deepEqual([retry.duplicate, retry.baseOffset], [true, first.baseOffset]);
  assert.ok(log.recoveryPoint >= 2, 'the acks=all retry of an acks=1 append waited for its fsync');
  assert.deepEqual(await readAllValues(engine, 'keyed'), ['a0', 'a1']);
});
