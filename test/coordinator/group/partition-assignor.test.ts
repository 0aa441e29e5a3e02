import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RangeAssignor, RoundRobinAssignor } from '../../../src/coordinator/group/partition-assignor';
import type { Subscription, TopicPartition } from '../../../src/coordinator/group/group-coordinator';

function subs(entries: Record<string, string[]>): Map<string, Subscription> {
  return new Map(Object.entries(entries).map(([m, topics]) => [m, { topics }]));
}

function show(result: Map<string, TopicPartition[]>): Record<string, string[]> {
  return Object.fromEntries([...result].map(([m, tps]) => [m, tps.map((tp) => `${tp.topic}-${tp.partition}`)]));
}

test('range: consecutive ranges per topic, the first members get the extra partitions', () => {
  const result = new RangeAssignor().assign({ a: 5, b: 2 }, subs({ m2: ['a', 'b'], m1: ['a', 'b'], m3: ['a'] }));
  assert.deepEqual(show(result), {
    m1: ['a-0', 'a-1', 'b-0'],
    m2: ['a-2', 'a-3', 'b-1'],
    m3: ['a-4'],
  });
});

test('round-robin: partitions dealt in turn, skipping members not subscribed to the topic', () => {
  const result = new RoundRobinAssignor().assign({ a: 3, b: 3 }, subs({ m1: ['a', 'b'], m2: ['a', 'b'], m3: ['b'] }));
  assert.deepEqual(show(result), {
    m1: ['a-0', 'a-2', 'b-2'],
    m2: ['a-1', 'b-0'],
    m3: ['b-1'],
  });
});

test('more members than partitions: the extra members stay idle, every partition has one owner', () => {
  for (const assignor of [new RangeAssignor(), new RoundRobinAssignor()]) {
    const result = assignor.assign({ t: 3 }, subs({ m1: ['t'], m2: ['t'], m3: ['t'], m4: ['t'] }));
    const owned = [...result.values()].flat().map((tp) => tp.partition).sort();
    assert.deepEqual(owned, [0, 1, 2], assignor.name);
    assert.equal([...result.values()].filter((tps) => tps.length === 0).length, 1, `${assignor.name}: one idle member`);
    assert.equal(result.size, 4, 'every member appears, idle ones with nothing');
  }
});

test('topics without metadata (not created yet) are skipped', () => {
  const result = new RangeAssignor().assign({ t: 1 }, subs({ m1: ['t', 'later'] }));
  assert.deepEqual(show(result), { m1: ['t-0'] });
});
