/**
 * Appends with AppendOptions.valuesAreJson name their written batch in the JSON memo exactly as a
 * reader scanning the log names it (segment, file position, base offset, size, CRC of the stored
 * bytes, compressed or not, in a rolled segment too); appends without it, and batches under the
 * memo's minimum, are not named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonValueMemo, jsonValueMemo, MEMO_MIN_RECORDS } from '../../../src/engine/embedded/json-value-memo';
import type { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';
import type { ProducerRecord } from '../../../src/engine/storage-engine';
import { startEngine, tempDir } from './helpers';

function records(n: number): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: i % 4 === 0 ? null : Buffer.from(`{"i":${i},"pad":"${'x'.repeat(40)}"}`) }));
}

/** Every stored batch of the partition with the name a reader gives it, segment by segment. */
async function readerNames(engine: EmbeddedEngine, topic: string): Promise<string[]> {
  const log = engine.partitionLog(topic, 0)!;
  const names: string[] = [];
  for (let offset = 0; offset < log.highWatermark; ) {
    const read = await log.readBatches(offset, 1 << 20);
    for (const b of read.batches) names.push(JsonValueMemo.keyOf(JsonValueMemo.segmentName(topic, 0, read.segmentBaseOffset), b));
    offset = read.nextOffset;
  }
  return names;
}

test('an append marked valuesAreJson is named in the memo as a reader names the stored batch; unmarked and small ones are not', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  for (const [topic, configs] of [['append-plain', { 'segment.bytes': '4096' }], ['append-gzip', { 'compression.type': 'gzip', 'segment.bytes': '4096' }]] as const) {
    await engine.createTopic({ name: topic, partitions: 1, configs });
    const marked: number[] = [];
    for (let i = 0; i < 6; i++) {
      const json = i !== 2;
      const count = i === 4 ? MEMO_MIN_RECORDS - 1 : 40;
      await engine.append(topic, 0, records(count), json ? { acks: 1, valuesAreJson: true } : { acks: 1 });
      if (json && count >= MEMO_MIN_RECORDS) marked.push(i);
    }
    const names = await readerNames(engine, topic);
    assert.equal(names.length, 6);
    if (configs['compression.type'] === undefined) {
      const segments = new Set(names.map((n) => n.slice(0, n.indexOf('@'))));
      assert.ok(segments.size > 1, 'the batches span rolled segments');
    }
    const inMemo = [...jsonValueMemo.keys()].filter((k) => k.startsWith(`${topic}-0 `));
    assert.deepEqual(inMemo, marked.map((i) => names[i]));
  }
});
