/**
 * Micro-benchmark of the record batch v2 codec: encode and decode throughput for 1,000-record
 * batches of ~100-byte values, ours beside kafkajs's encoder and decoder in the same run.
 *   npx tsc -p . && node dist/bench/codec.js [seconds per case, default 1]
 */
import { randomBytes } from 'node:crypto';
import { crc32c } from '../src/engine/embedded/codec/crc32c';
import { decodeRecords, encodeRecordBatch, RecordInput } from '../src/engine/embedded/codec/record-batch';

/* eslint-disable @typescript-eslint/no-require-imports */
const Long = require('kafkajs/src/utils/long');
const KafkaDecoder = require('kafkajs/src/protocol/decoder');
const kafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0');
const { RecordBatch: kafkaRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const kafkaBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder');
/* eslint-enable @typescript-eslint/no-require-imports */

const BATCH = 1000;
const seconds = Number(process.argv[2] ?? 1);

const now = Date.now();
const records: RecordInput[] = Array.from({ length: BATCH }, (_, i) => ({
  key: Buffer.from(`key-${i % 100}`),
  value: randomBytes(100),
  timestamp: now + i,
}));

async function kafkajsEncode(): Promise<Buffer> {
  const encoded = records.map((r, i) =>
    kafkaRecord({ offsetDelta: i, timestampDelta: r.timestamp - now, key: r.key, value: r.value }),
  );
  const batch = await kafkaRecordBatch({
    firstOffset: Long.fromNumber(0),
    firstTimestamp: now,
    maxTimestamp: now + BATCH - 1,
    lastOffsetDelta: BATCH - 1,
    producerEpoch: -1,
    firstSequence: -1,
    records: encoded,
  });
  return batch.buffer;
}

/** Runs `fn` for about `seconds` (after a short warm-up); returns records per second. */
async function measure(fn: () => unknown | Promise<unknown>): Promise<number> {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) await fn();
  let batches = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    await fn();
    batches++;
  }
  return (batches * BATCH) / ((performance.now() - start) / 1000);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(12);
}

async function main(): Promise<void> {
  const ours = encodeRecordBatch(records, { baseOffset: 0 });
  const theirs = await kafkajsEncode();
  if (!ours.equals(theirs)) throw new Error('the two encoders disagree; the comparison would be meaningless');

  const ourEncode = await measure(() => encodeRecordBatch(records, { baseOffset: 0 }));
  const theirEncode = await measure(kafkajsEncode);
  const ourDecode = await measure(() => decodeRecords(ours));
  const theirDecode = await measure(() => kafkaBatchDecoder(new KafkaDecoder(theirs)));
  const crcBytes = (await measure(() => crc32c(ours))) / BATCH * ours.length;

  console.log(`record batch v2 codec, ${BATCH}-record batches, 100-byte values, ${ours.length} bytes per batch, node ${process.version}`);
  console.log(`                    records/s (ours)  records/s (kafkajs)   ratio`);
  console.log(`  encode        ${fmt(ourEncode)}     ${fmt(theirEncode)}     ${(ourEncode / theirEncode).toFixed(1)}x`);
  console.log(`  decode        ${fmt(ourDecode)}     ${fmt(theirDecode)}     ${(ourDecode / theirDecode).toFixed(1)}x`);
  console.log(`  crc32c        ${(crcBytes / 2 ** 20).toFixed(0)} MiB/s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
