import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cImplementation, crc32cLoop, crc32cUpdate } from '../../../../src/engine/embedded/codec/crc32c';

// kafkajs carries its own table-driven CRC-32C: an independent implementation to compare against.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsCrc32c: (buf: Buffer) => number = require('kafkajs/src/protocol/recordBatch/crc32C');

/** Bit-at-a-time CRC-32C straight from the definition, the slowest and plainest reference. */
function bitwiseCrc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32c check value of "123456789" is 0xE3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
});

test('crc32c matches the RFC 3720 (iSCSI) test vectors', () => {
  const ascending = Buffer.alloc(32);
  const descending = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) {
    ascending[i] = i;
    descending[i] = 31 - i;
  }
  assert.equal(crc32c(Buffer.alloc(32, 0x00)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(descending), 0x113fdb5c);
});

test('crc32c of nothing is 0 and the result is always unsigned', () => {
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  for (let i = 0; i < 200; i++) {
    const c = crc32c(randomBytes(i));
    assert.ok(c >= 0 && c <= 0xffffffff && Number.isInteger(c));
  }
});

test('crc32c agrees with a bitwise reference and with kafkajs for every length 0..300', () => {
  const data = randomBytes(300);
  for (let len = 0; len <= 300; len++) {
    const slice = data.subarray(0, len);
    const expected = bitwiseCrc32c(slice);
    assert.equal(crc32c(slice), expected, `length ${len}`);
    assert.equal(kafkajsCrc32c(slice), expected, `kafkajs, length ${len}`);
  }
});

test('crc32c over a [start, end) range equals the CRC of that subarray', () => {
  const data = randomBytes(200);
  for (let start = 0; start < 20; start++) {
    for (const end of [start, start + 1, start + 7, start + 8, start + 9, 150, 200]) {
      assert.equal(crc32c(data, start, end), bitwiseCrc32c(data.subarray(start, end)), `[${start}, ${end})`);
    }
  }
});

test('crc32cUpdate chains: the CRC of a then b equals the CRC of a + b', () => {
  const a = randomBytes(37);
  const b = randomBytes(1000);
  assert.equal(crc32cUpdate(crc32c(a), b), crc32c(Buffer.concat([a, b])));
});

test('crc32c rejects a range outside the buffer', () => {
  const data = Buffer.alloc(10);
  assert.throws(() => crc32c(data, 0, 11), RangeError);
  assert.throws(() => crc32c(data, -1, 5), RangeError);
  assert.throws(() => crc32c(data, 6, 5), RangeError);
});

test('the native implementation serves long ranges on this platform and agrees with the JS loop', () => {
  assert.equal(crc32cImplementation, 'native', 'the @node-rs/crc32 binary should load on the supported platforms');
  for (const size of [511, 512, 513, 4096, 100_003]) {
    const buf = randomBytes(size + 20);
    for (const [start, end] of [[0, size], [7, size + 13], [20, size + 20]]) {
      const whole = crc32c(buf, start, end);
      assert.equal(whole, crc32cLoop(0, buf, start, end), `size ${size} [${start}, ${end})`);
      assert.equal(whole, bitwiseCrc32c(buf.subarray(start, end)));
      // chained across the native threshold: a short head by the loop, a long tail natively
      assert.equal(crc32cUpdate(crc32c(buf, start, start + 3), buf, start + 3, end), whole);
    }
  }
});
