import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCoordinatorRecord,
  encodeCoordinatorRecord,
  groupMetadataRecord,
  offsetCommitRecord,
} from '../../../src/coordinator/group/coordinator-records';

test("offset commit records use Kafka's key (version 1) and value (version 3) layouts and round-trip", () => {
  const record = offsetCommitRecord('g-é', 'orders', 7, { offset: 2 ** 40 + 3, metadata: 'm', commitTimestamp: 1_700_000_000_123 });
  const encoded = encodeCoordinatorRecord(record, 5);
  const key = encoded.key as Buffer;
  assert.equal(key.readInt16BE(0), 1);
  assert.equal(key.readInt16BE(2), Buffer.byteLength('g-é'));
  assert.equal(key.readInt32BE(key.length - 4), 7);
  const value = encoded.value as Buffer;
  assert.equal(value.readInt16BE(0), 3);
  assert.equal(Number(value.readBigInt64BE(2)), 2 ** 40 + 3);
  assert.equal(value.readInt32BE(10), -1, 'leader epoch');
  assert.deepEqual(decodeCoordinatorRecord(encoded.key, encoded.value), record);
});

test('tombstones and group metadata round-trip; unknown key versions are skipped', () => {
  const tombstone = offsetCommitRecord('g', 't', 0, null);
  const e1 = encodeCoordinatorRecord(tombstone, 1);
  assert.equal(e1.value, null);
  assert.deepEqual(decodeCoordinatorRecord(e1.key, e1.value), tombstone);

  const metadata = groupMetadataRecord('g', {
    protocolType: 'consumer',
    generation: 4,
    protocol: 'range',
    leader: 'a-1',
    currentStateTimestamp: 9,
    members: [{ memberId: 'a-1', clientId: 'a', sessionTimeoutMs: 1, rebalanceTimeoutMs: 2, subscription: { topics: ['t'] }, assignment: { partitions: [{ topic: 't', partition: 0 }], partitionCounts: { t: 1 } } }],
  });
  const e2 = encodeCoordinatorRecord(metadata, 1);
  assert.equal((e2.key as Buffer).readInt16BE(0), 2);
  assert.equal(JSON.parse((e2.value as Buffer).toString()).version, 1);
  assert.deepEqual(decodeCoordinatorRecord(e2.key, e2.value), metadata);

  const future = Buffer.from([0, 9, 0, 1, 0x67]);
  assert.equal(decodeCoordinatorRecord(future, Buffer.from('x')), undefined);
  assert.equal(decodeCoordinatorRecord(null, null), undefined);
});
