import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DefaultPartitioner, murmur2, partitionForKey, toPositive } from '../../src/engine/partitioner';

/* eslint-disable @typescript-eslint/no-require-imports */
// kafkajs's Java-compatible murmur2 and its default partitioner: an independent implementation.
const kafkajsMurmur2: (key: Buffer) => number = require('kafkajs/src/producer/partitioners/default/murmur2');
const createKafkajsPartitioner = require('kafkajs/src/producer/partitioners/default');
/* eslint-enable @typescript-eslint/no-require-imports */

test('murmur2 returns the values Kafka\'s UtilsTest asserts', () => {
  const cases: Array<[Buffer, number]> = [
    [Buffer.from('21'), -973932308],
    [Buffer.from('foobar'), -790332482],
    [Buffer.from('a-little-bit-long-string'), -985981536],
    [Buffer.from('a-little-bit-longer-string'), -1486304829],
    [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [Buffer.from([0x61, 0x62, 0x63]), 479470107],
  ];
  for (const [key, expected] of cases) {
    assert.equal(murmur2(key), expected, key.toString());
    assert.equal(kafkajsMurmur2(key), expected, `kafkajs agrees on ${key.toString()}`);
  }
});

test('murmur2 agrees with kafkajs for random keys of every tail length, including empty', () => {
  for (let i = 0; i < 3000; i++) {
    const key = randomBytes(i % 67);
    assert.equal(murmur2(key), kafkajsMurmur2(key), key.toString('hex'));
  }
});

test('toPositive clears the sign bit only', () => {
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(5), 5);
  assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
});

test('partitionForKey agrees with kafkajs\'s default partitioner for random keys and partition counts', () => {
  const kafkajs = createKafkajsPartitioner();
  for (let i = 0; i < 3000; i++) {
    const key = randomBytes(1 + (i % 50));
    const numPartitions = 1 + (i % 97);
    const partitionMetadata = Array.from({ length: numPartitions }, (_, p) => ({ partitionId: p, leader: 0 }));
    const expected = kafkajs({ topic: 't', partitionMetadata, message: { key } });
    assert.equal(partitionForKey(key, numPartitions), expected, `key ${key.toString('hex')} over ${numPartitions}`);
  }
});

test('keyed records ignore stickiness and an empty key is hashed, not treated as null', () => {
  const partitioner = new DefaultPartitioner();
  assert.equal(partitioner.partition('t', Buffer.from('foobar'), 7, 100), toPositive(-790332482) % 7);
  assert.equal(partitioner.partition('t', Buffer.alloc(0), 7, 100), toPositive(murmur2(Buffer.alloc(0))) % 7);
});

test('partitionForKey rejects partition counts below one', () => {
  assert.throws(() => partitionForKey(Buffer.from('k'), 0), RangeError);
  assert.throws(() => new DefaultPartitioner().partition('t', null, 0, 10), RangeError);
});

test('null keys stick to one partition until batch.size bytes went to it, then move to another', () => {
  const partitioner = new DefaultPartitioner({ stickyBatchSize: 1000 });
  const first = partitioner.partition('orders', null, 8, 100);
  // 100 + 9 * 100 = 1000: the tenth record reaches the threshold and still lands on the same partition.
  for (let i = 0; i < 9; i++) assert.equal(partitioner.partition('orders', null, 8, 100), first);
  const next = partitioner.partition('orders', null, 8, 100);
  assert.notEqual(next, first);
  for (let i = 0; i < 9; i++) assert.equal(partitioner.partition('orders', null, 8, 100), next);
});

test('sticky partitions are per topic and never repeat twice in a row; every partition gets chosen', () => {
  const partitioner = new DefaultPartitioner({ stickyBatchSize: 1 });
  const seen = new Set<number>();
  let prev = partitioner.partition('a', null, 4, 1);
  seen.add(prev);
  for (let i = 0; i < 400; i++) {
    const p = partitioner.partition('a', null, 4, 1);
    assert.notEqual(p, prev, `switch ${i} chose the same partition again`);
    assert.ok(p >= 0 && p < 4);
    seen.add(p);
    prev = p;
  }
  assert.equal(seen.size, 4);
  // With one partition there is no choice to make.
  for (let i = 0; i < 5; i++) assert.equal(partitioner.partition('single', null, 1, 1), 0);
});

test('the random source is injectable and steers the choice', () => {
  const draws = [0.99, 0.0, 0.0, 0.5];
  const partitioner = new DefaultPartitioner({ random: () => draws.shift() ?? 0, stickyBatchSize: 10 });
  assert.equal(partitioner.partition('t', null, 5, 10), 4); // 0.99 * 5 -> 4, then full: 0.0 over the 4 others -> 0
  assert.equal(partitioner.partition('t', null, 5, 10), 0); // then 0.0 over partitions other than 0 -> 1
  assert.equal(partitioner.partition('t', null, 5, 10), 1); // then 0.5 over the 4 others than 1 -> index 2 -> 3
  assert.equal(partitioner.partition('t', null, 5, 10), 3);
});

test('a topic with fewer partitions than its sticky choice picks again; forget drops the state', () => {
  const partitioner = new DefaultPartitioner({ random: () => 0.99 });
  assert.equal(partitioner.partition('t', null, 10, 1), 9);
  assert.equal(partitioner.partition('t', null, 3, 1), 2);
  partitioner.forget('t');
  assert.equal(partitioner.partition('t', null, 6, 1), 5);
});
