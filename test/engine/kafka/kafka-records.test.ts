import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePartitionRecords, fromKafkajsHeaders, toKafkajsHeaders, toKafkajsMessage } from '../../../src/engine/kafka/kafka-records';
import type { KjsMessage } from '../../../src/engine/kafka/kafkajs-internals';

/**
 * The consumer-side rules on fetched records, on record sets shaped as kafkajs's decoder yields
 * them. The mock cluster keeps no aborted-transaction index, so read_committed filtering is tested
 * here on the exact inputs a real broker's Fetch answer gives.
 */
interface BatchSpec {
  base: number;
  producerId?: string;
  transactional?: boolean;
  control?: 'abort' | 'commit';
  values: Array<string | null>;
}

function batch(spec: BatchSpec): KjsMessage[] {
  const control = spec.control !== undefined;
  return spec.values.map((value, i) => {
    const key = control ? Buffer.from([0, 0, 0, spec.control === 'abort' ? 0 : 1]) : Buffer.from(`k${spec.base + i}`);
    return {
      offset: String(spec.base + i),
      timestamp: String(1_700_000_000_000 + spec.base + i),
      key,
      value: value === null ? null : Buffer.from(value),
      headers: {},
      isControlRecord: control,
      batchContext: {
        firstOffset: String(spec.base),
        lastOffsetDelta: spec.values.length - 1,
        producerId: spec.producerId ?? '-1',
        inTransaction: spec.transactional === true || control,
        isControlBatch: control,
        timestampType: 0,
      },
    };
  });
}

const values = (r: ReturnType<typeof decodePartitionRecords>) => r.records.map((x) => x.value?.toString() ?? null);

test('records below the fetch offset (same batch) are dropped; nextOffset follows the last one', () => {
  const messages = batch({ base: 10, values: ['a', 'b', 'c', 'd'] });
  const out = decodePartitionRecords('t', 0, 12, messages, [], 'read_uncommitted', 1 << 20, true);
  assert.deepEqual(values(out), ['c', 'd']);
  assert.deepEqual(out.records.map((r) => r.offset), [12, 13]);
  assert.equal(out.nextOffset, 14);
  assert.equal(out.records[0].timestamp, 1_700_000_000_012);
  assert.equal(out.records[0].timestampType, 'CreateTime');
});

test('read_committed drops an aborted transaction and its marker; read_uncommitted keeps the data', () => {
  const messages = [
    ...batch({ base: 0, values: ['plain'] }),
    ...batch({ base: 1, producerId: '7', transactional: true, values: ['t1', 't2'] }),
    ...batch({ base: 3, producerId: '8', transactional: true, values: ['c1'] }),
    ...batch({ base: 4, producerId: '7', control: 'abort', values: [null] }),
    ...batch({ base: 5, producerId: '8', control: 'commit', values: [null] }),
    ...batch({ base: 6, values: ['after'] }),
  ];
  const aborted = [{ producerId: '7', firstOffset: '1' }];
  const committed = decodePartitionRecords('t', 0, 0, messages, aborted, 'read_committed', 1 << 20, true);
  assert.deepEqual(values(committed), ['plain', 'c1', 'after']);
  assert.equal(committed.nextOffset, 7);
  const uncommitted = decodePartitionRecords('t', 0, 0, messages, aborted, 'read_uncommitted', 1 << 20, true);
  assert.deepEqual(values(uncommitted), ['plain', 't1', 't2', 'c1', 'after'], 'control records are never returned');
});

test('a producer id aborted earlier does not hide its later, committed transaction', () => {
  const messages = [
    ...batch({ base: 0, producerId: '7', transactional: true, values: ['x'] }),
    ...batch({ base: 1, producerId: '7', control: 'abort', values: [null] }),
    ...batch({ base: 2, producerId: '7', transactional: true, values: ['y'] }),
    ...batch({ base: 3, producerId: '7', control: 'commit', values: [null] }),
  ];
  const out = decodePartitionRecords('t', 0, 0, messages, [{ producerId: '7', firstOffset: '0' }], 'read_committed', 1 << 20, true);
  assert.deepEqual(values(out), ['y']);
  assert.equal(out.nextOffset, 4);
});

test('only control records past the offset still advance nextOffset (no fetch loop on a marker)', () => {
  const messages = batch({ base: 5, producerId: '3', control: 'commit', values: [null] });
  const out = decodePartitionRecords('t', 0, 5, messages, [], 'read_committed', 1 << 20, true);
  assert.deepEqual(out.records, []);
  assert.equal(out.nextOffset, 6);
});

test('the byte budget cuts between records, never below one', () => {
  const messages = batch({ base: 0, values: ['x'.repeat(100), 'y'.repeat(100), 'z'.repeat(100)] });
  // Each record counts key (2 bytes: "k0") + value (100).
  const two = decodePartitionRecords('t', 0, 0, messages, [], 'read_uncommitted', 204, true);
  assert.equal(two.records.length, 2);
  assert.equal(two.nextOffset, 2);
  assert.equal(two.bytes, 204);
  const one = decodePartitionRecords('t', 0, 0, messages, [], 'read_uncommitted', 1, true);
  assert.equal(one.records.length, 1);
  const none = decodePartitionRecords('t', 0, 0, messages, [], 'read_uncommitted', 1, false);
  assert.equal(none.records.length, 0, 'without requireOne an exhausted budget returns nothing');
  assert.equal(none.nextOffset, 0);
});

test('headers: repeated keys keep their order per key; null values are refused on the way out', () => {
  const out = toKafkajsHeaders([{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: Buffer.from('2') }, { key: 'a', value: Buffer.from('3') }]);
  assert.deepEqual(fromKafkajsHeaders(out), [
    { key: 'a', value: Buffer.from('1') },
    { key: 'a', value: Buffer.from('3') },
    { key: 'b', value: Buffer.from('2') },
  ]);
  assert.equal(toKafkajsHeaders([]), undefined);
  assert.throws(() => toKafkajsHeaders([{ key: 'n', value: null }]), (e: Error & { code?: string }) => e.code === 'INVALID_RECORD' && /null value/.test(e.message));
  assert.deepEqual(fromKafkajsHeaders({ n: null }), [{ key: 'n', value: null }], 'a null header value read from Kafka is kept');
});

test('outgoing messages get a fixed timestamp; non-positive timestamps are INVALID_RECORD', () => {
  assert.equal(toKafkajsMessage({ key: null, value: null }, 1234).timestamp, 1234);
  assert.equal(toKafkajsMessage({ key: null, value: null, timestamp: 99 }, 1234).timestamp, 99);
  assert.throws(() => toKafkajsMessage({ key: null, value: null, timestamp: 0 }, 1234), (e: Error & { code?: string }) => e.code === 'INVALID_RECORD');
  assert.throws(() => toKafkajsMessage({ key: null, value: null, timestamp: -5 }, 1234), (e: Error & { code?: string }) => e.code === 'INVALID_RECORD');
});
