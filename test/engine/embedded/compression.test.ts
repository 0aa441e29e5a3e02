/**
 * Topics with each compression.type through the embedded engine: what is stored on disk, what reads
 * return, across restarts, config changes, corruption and crash recovery.
 */
import { test, TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readFileSync, rmSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { readBatchHeader } from '../../../src/engine/embedded/codec/record-batch';
import { CLEAN_SHUTDOWN_FILE } from '../../../src/engine/embedded/log-file-names';
import { EngineError } from '../../../src/engine/engine-error';
import { ConsumerRecord, ProducerRecord } from '../../../src/engine/storage-engine';
import { startEngine, tempDir } from './helpers';

const T = 1_700_000_000_000;
const LOG = '00000000000000000000.log';
const TYPES = [
  { type: 'producer', id: 0 },
  { type: 'none', id: 0 },
  { type: 'gzip', id: 1 },
  { type: 'snappy', id: 2 },
  { type: 'lz4', id: 3 },
  { type: 'zstd', id: 4 },
] as const;

/** `count` JSON records from `start`, with a null key, a null value and headers among them. */
function jsonBatch(start: number, count: number): ProducerRecord[] {
  return Array.from({ length: count }, (_, j) => {
    const i = start + j;
    return {
      key: i % 10 === 0 ? null : Buffer.from(`customer-${i % 37}`),
      value: i % 13 === 0 ? null : Buffer.from(JSON.stringify({ order: i, customer: `customer-${i % 37}`, items: ['apple', 'pear'], total: i % 97 })),
      headers: i % 4 === 0 ? [{ key: 'source', value: Buffer.from('checkout') }, { key: 'none', value: null }] : undefined,
      timestamp: T + i,
    };
  });
}

/** Every record of the partition, read in fetches of about `maxBytes`. */
async function readAll(engine: Awaited<ReturnType<typeof startEngine>>, topic: string, maxBytes = 8192): Promise<ConsumerRecord[]> {
  const log = engine.partitionLog(topic, 0)!;
  const out: ConsumerRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, maxBytes);
    assert.ok(records.length > 0, `progress at offset ${offset}`);
    out.push(...records);
    offset = records[records.length - 1].offset + 1;
  }
  return out;
}

function assertRecordsEqual(actual: ConsumerRecord[], expected: ProducerRecord[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: record count`);
  actual.forEach((r, i) => {
    if (r.offset !== i || r.timestamp !== expected[i].timestamp) assert.fail(`${label}: record ${i} at offset ${r.offset}, timestamp ${r.timestamp}`);
    assert.deepEqual(r.key, expected[i].key, `${label}: key ${i}`);
    assert.deepEqual(r.value, expected[i].value, `${label}: value ${i}`);
    assert.deepEqual(r.headers, expected[i].headers ?? [], `${label}: headers ${i}`);
  });
}

/** Codec id of each batch in a .log file, read from the headers alone. */
function codecsOnDisk(file: string): number[] {
  const buf = readFileSync(file);
  const codecs: number[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const h = readBatchHeader(buf, pos);
    codecs.push(h.compression);
    pos += h.sizeInBytes;
  }
  return codecs;
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const byte = readFileSync(file).subarray(at, at + 1);
  writeSync(fd, Buffer.from([byte[0] ^ 0x5a]), 0, 1, at);
  closeSync(fd);
}

test('each compression.type: stored with its codec, read back equal after a restart, compressed topics smaller', async (t) => {
  const dir = tempDir(t);
  let engine = await startEngine(t, dir);
  const expected = [...jsonBatch(0, 1), ...jsonBatch(1, 999), ...jsonBatch(1000, 1000)];
  for (const { type } of TYPES) {
    await engine.createTopic({ name: `t-${type}`, configs: { 'compression.type': type } });
    await engine.append(`t-${type}`, 0, expected.slice(0, 1), { acks: -1 });
    await engine.append(`t-${type}`, 0, expected.slice(1, 1000), { acks: -1 });
    await engine.append(`t-${type}`, 0, expected.slice(1000), { acks: 1 });
    assertRecordsEqual(await readAll(engine, `t-${type}`), expected, `${type} before restart`);
  }
  await engine.close();
  engine = await startEngine(t, dir);
  const sizes = new Map<string, number>();
  for (const { type, id } of TYPES) {
    const topic = `t-${type}`;
    assert.deepEqual(codecsOnDisk(join(dir, `${topic}-0`, LOG)), [id, id, id], `${type}: codec bits on disk`);
    assertRecordsEqual(await readAll(engine, topic), expected, `${type} after restart`);
    assertRecordsEqual(await readAll(engine, topic, 1), expected, `${type} one batch per fetch`);
    const described = await engine.describeTopic(topic);
    assert.equal(described.configs['compression.type'], type);
    sizes.set(type, described.partitions[0].sizeBytes);
    assert.equal(sizes.get(type), statSync(join(dir, `${topic}-0`, LOG)).size);
  }
  assert.equal(sizes.get('producer'), sizes.get('none'), 'HTTP producers send uncompressed records: producer keeps them so');
  for (const { type } of TYPES.filter((c) => c.id !== 0)) {
    assert.ok(sizes.get(type)! < sizes.get('none')! / 2, `${type}: ${sizes.get(type)} bytes vs ${sizes.get('none')} uncompressed`);
  }
});

test('reads from an offset inside a compressed batch start at that offset; timestamps find records', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  await engine.createTopic({ name: 'z', configs: { 'compression.type': 'zstd' } });
  const input = jsonBatch(0, 500);
  await engine.append('z', 0, input.slice(0, 250), { acks: 1 });
  await engine.append('z', 0, input.slice(250), { acks: 1 });
  const log = engine.partitionLog('z', 0)!;
  for (const offset of [0, 1, 249, 250, 377, 499]) {
    const { records } = await log.read(offset, 1);
    assert.equal(records[0].offset, offset);
    assert.deepEqual(records[0].value, input[offset].value);
  }
  assert.deepEqual(await engine.listOffset('z', 0, { timestamp: T + 300 }), { offset: 300, timestamp: T + 300 });
  assert.deepEqual(await engine.listOffset('z', 0, 'latest'), { offset: 500, timestamp: -1 });
});

test('changing compression.type applies to new batches; a log of mixed codecs reads back whole', async (t) => {
  const dir = tempDir(t);
  const engine = await startEngine(t, dir);
  await engine.createTopic({ name: 'mixed' });
  const input = jsonBatch(0, 600);
  const order = ['none', 'gzip', 'snappy', 'lz4', 'zstd', 'producer'];
  for (let k = 0; k < order.length; k++) {
    await engine.alterTopicConfigs('mixed', { 'compression.type': order[k] });
    await engine.append('mixed', 0, input.slice(k * 100, k * 100 + 100), { acks: 1 });
  }
  await engine.partitionLog('mixed', 0)!.flush();
  assert.deepEqual(codecsOnDisk(join(dir, 'mixed-0', LOG)), [0, 1, 2, 3, 4, 0]);
  assertRecordsEqual(await readAll(engine, 'mixed'), input, 'mixed codecs');
});

test('max.message.bytes applies to the compressed batch, as in Kafka', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  const input = jsonBatch(0, 1000);
  for (const type of ['none', 'gzip']) {
    await engine.createTopic({ name: `limit-${type}`, configs: { 'compression.type': type, 'max.message.bytes': '40000' } });
  }
  await assert.rejects(engine.append('limit-none', 0, input, { acks: 1 }), (err: unknown) => err instanceof EngineError && err.code === 'RECORD_TOO_LARGE');
  assert.equal((await engine.append('limit-gzip', 0, input, { acks: 1 })).lastOffset, 999);
});

test('an unknown compression.type is INVALID_CONFIG on create and alter', async (t) => {
  const engine = await startEngine(t, tempDir(t));
  const invalid = (err: unknown): boolean => err instanceof EngineError && err.code === 'INVALID_CONFIG';
  await assert.rejects(engine.createTopic({ name: 'bad', configs: { 'compression.type': 'brotli' } }), invalid);
  await engine.createTopic({ name: 'good' });
  await assert.rejects(engine.alterTopicConfigs('good', { 'compression.type': 'lzma' }), invalid);
});

test('a corrupt compressed payload on disk is CORRUPT_MESSAGE on read; the batches before it still read', async (t) => {
  for (const type of ['gzip', 'snappy', 'lz4', 'zstd']) {
    const dir = tempDir(t);
    let engine = await startEngine(t, dir);
    await engine.createTopic({ name: 'c', configs: { 'compression.type': type } });
    const input = jsonBatch(0, 400);
    await engine.append('c', 0, input.slice(0, 200), { acks: -1 });
    await engine.append('c', 0, input.slice(200), { acks: -1 });
    await engine.close();
    // A clean shutdown: start-up trusts the files, so the damage is met by the read.
    const file = join(dir, 'c-0', LOG);
    const second = readBatchHeader(readFileSync(file)).sizeInBytes;
    flipByte(file, second + 61 + 30);
    engine = await startEngine(t, dir);
    const log = engine.partitionLog('c', 0)!;
    assertRecordsEqual((await log.read(0, 1)).records, input.slice(0, 200), `${type}: first batch`);
    await assert.rejects(
      log.read(200, 1),
      (err: unknown) => err instanceof EngineError && err.code === 'CORRUPT_MESSAGE' && /CRC/.test(err.message),
      `${type}: damaged batch`,
    );
    await engine.close();
  }
});

test('recovery after a crash: a compressed tail cut short or failing its CRC is truncated, earlier batches kept', async (t) => {
  for (const type of ['gzip', 'snappy', 'lz4', 'zstd']) {
    for (const damage of ['torn', 'flipped'] as const) {
      const dir = tempDir(t);
      let engine = await startEngine(t, dir);
      await engine.createTopic({ name: 'r', configs: { 'compression.type': type } });
      const input = jsonBatch(0, 300);
      for (let k = 0; k < 3; k++) await engine.append('r', 0, input.slice(k * 100, k * 100 + 100), { acks: -1 });
      const file = join(dir, 'r-0', LOG);
      await engine.partitionLog('r', 0)!.flush();
      const buf = readFileSync(file);
      const lastStart = thirdBatchPosition(buf);
      engine = await crashRestartWithDamage(t, dir, engine, () => {
        if (damage === 'torn') truncateSync(file, buf.length - 7);
        else flipByte(file, buf.length - 7);
      });
      const log = engine.partitionLog('r', 0)!;
      assert.equal(statSync(file).size, lastStart, `${type}/${damage}: cut at the last whole batch`);
      assert.equal(log.highWatermark, 200, `${type}/${damage}: high watermark`);
      assertRecordsEqual(await readAll(engine, 'r'), input.slice(0, 200), `${type}/${damage}`);
      assert.equal((await engine.append('r', 0, input.slice(200), { acks: -1 })).baseOffset, 200);
      assertRecordsEqual(await readAll(engine, 'r'), input, `${type}/${damage}: appended again`);
      await engine.close();
    }
  }
});

function thirdBatchPosition(buf: Buffer): number {
  const first = readBatchHeader(buf, 0).sizeInBytes;
  return first + readBatchHeader(buf, first).sizeInBytes;
}

async function crashRestartWithDamage(
  t: TestContext,
  dir: string,
  engine: Awaited<ReturnType<typeof startEngine>>,
  damage: () => void,
): Promise<Awaited<ReturnType<typeof startEngine>>> {
  await engine.close();
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE));
  damage();
  return startEngine(t, dir);
}
