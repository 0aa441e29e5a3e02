import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readInt64,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  VarintError,
  writeInt64,
  writeVarint,
  writeVarlong,
} from '../../../../src/engine/embedded/codec/varint';

/** Kafka's ByteUtils.writeVarlong, computed exactly with BigInt: the reference for the number-based codec. */
function referenceVarlong(value: bigint): Buffer {
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

function encodeVarint(value: number): Buffer {
  const buf = Buffer.alloc(sizeOfVarint(value));
  assert.equal(writeVarint(buf, 0, value), buf.length);
  return buf;
}

function encodeVarlong(value: number): Buffer {
  const buf = Buffer.alloc(sizeOfVarlong(value));
  assert.equal(writeVarlong(buf, 0, value), buf.length);
  return buf;
}

test('varint bytes at the boundaries are Kafka\'s', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [63, [0x7e]],
    [64, [0x80, 0x01]],
    [-64, [0x7f]],
    [-65, [0x81, 0x01]],
    [8191, [0xfe, 0x7f]],
    [8192, [0x80, 0x80, 0x01]],
    [2 ** 31 - 1, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-(2 ** 31), [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [value, bytes] of cases) {
    assert.deepEqual([...encodeVarint(value)], bytes, `encode ${value}`);
    const cursor = { pos: 0 };
    assert.equal(readVarint(Buffer.from(bytes), cursor), value, `decode ${value}`);
    assert.equal(cursor.pos, bytes.length);
  }
});

test('varint round trips and sizes across the int32 range', () => {
  const values = [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 1048575, 1048576, 134217727, 134217728];
  values.push(2 ** 31 - 1, -(2 ** 31), 2 ** 30, -(2 ** 30) - 1);
  for (let i = 0; i < 2000; i++) values.push((Math.random() * 2 ** 32) | 0);
  for (const value of values) {
    const buf = encodeVarint(value);
    assert.deepEqual(buf, referenceVarlong(BigInt(value)), `varint and varlong agree below 2^31 for ${value}`);
    assert.equal(readVarint(buf, { pos: 0 }), value);
  }
});

test('varlong round trips at the boundaries and for large longs, byte-exact against a BigInt reference', () => {
  const values = [
    0, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 40,
    -(2 ** 40), 1_700_000_000_000, -1_700_000_000_000, 2 ** 52, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  ];
  for (let i = 0; i < 2000; i++) values.push(Math.floor((Math.random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER));
  for (const value of values) {
    const buf = encodeVarlong(value);
    assert.deepEqual(buf, referenceVarlong(BigInt(value)), `bytes of ${value}`);
    const cursor = { pos: 0 };
    assert.equal(readVarlong(buf, cursor), value, `decode ${value}`);
    assert.equal(cursor.pos, buf.length);
  }
});

test('readVarlong reads 10-byte longs beyond 2^53 approximately, as documented', () => {
  const min = referenceVarlong(-(2n ** 63n));
  assert.equal(min.length, 10);
  assert.equal(readVarlong(min, { pos: 0 }), -(2 ** 63));
});

test('readers advance through consecutive values', () => {
  const values = [5, -300, 2 ** 31 - 1, 0];
  const longs = [1_700_000_000_000, -7, 0];
  const buf = Buffer.alloc(64);
  let pos = 0;
  for (const v of values) pos = writeVarint(buf, pos, v);
  for (const v of longs) pos = writeVarlong(buf, pos, v);
  const cursor = { pos: 0 };
  assert.deepEqual(values.map(() => readVarint(buf, cursor)), values);
  assert.deepEqual(longs.map(() => readVarlong(buf, cursor)), longs);
  assert.equal(cursor.pos, pos);
});

test('malformed varints throw VarintError: too long or cut short', () => {
  assert.throws(() => readVarint(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), { pos: 0 }), VarintError);
  assert.throws(() => readVarint(Buffer.from([0x80, 0x80]), { pos: 0 }), VarintError);
  assert.throws(() => readVarint(Buffer.alloc(0), { pos: 0 }), VarintError);
  assert.throws(() => readVarlong(Buffer.from([...Array(10).fill(0xff), 0x01]), { pos: 0 }), VarintError);
  assert.throws(() => readVarlong(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), { pos: 0 }), VarintError);
  assert.throws(() => readVarlong(Buffer.from([0xff, 0xff]), { pos: 0 }), VarintError);
});

test('int64 big-endian helpers match BigInt writes for negative and large values', () => {
  const buf = Buffer.alloc(8);
  for (const value of [0, -1, 1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_123]) {
    writeInt64(buf, 0, value);
    assert.equal(buf.readBigInt64BE(0), BigInt(value), `write ${value}`);
    assert.equal(readInt64(buf, 0), value, `read ${value}`);
  }
});
