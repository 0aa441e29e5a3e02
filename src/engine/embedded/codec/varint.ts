/**
 * Zig-zag varints as Kafka's ByteUtils writes them (protobuf's encoding): 7 bits per byte, low
 * group first, high bit set on every byte but the last. A varint carries an int32 (at most 5
 * bytes), a varlong an int64 (at most 10 bytes).
 *
 * Values are JavaScript numbers, so a varlong is exact only within ±(2^53 - 1); record batches use
 * varlongs for timestamp deltas, which stay far inside that range.
 */

/** A read position that the readers advance; one object per decode keeps reads allocation free. */
export interface Cursor {
  pos: number;
}

export class VarintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VarintError';
  }
}

const TWO_POW_32 = 4294967296;

function zigZag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

export function sizeOfVarint(value: number): number {
  const v = zigZag32(value);
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/**
 * A varlong's zig-zag value 2|v| (v >= 0) or 2|v| - 1 (v < 0) is odd for negatives and can pass 2^53,
 * where doubles lose odd integers. So the long is split into its magnitude m = v or -v - 1 (always
 * exact) and a sign bit: the first byte carries the sign and m's low 6 bits, the rest is m / 64.
 */
function magnitude(value: number): number {
  return value >= 0 ? value : -value - 1;
}

export function sizeOfVarlong(value: number): number {
  const m = magnitude(value);
  if (m < 0x40) return 1;
  if (m < 0x2000) return 2;
  let rest = Math.floor(m / 64);
  let bytes = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    bytes++;
  }
  return bytes;
}

/** Writes `value` (int32) at `pos`; returns the position after it. The caller sized the buffer. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = zigZag32(value);
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes `value` (an integer within ±(2^53 - 1)) at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  const sign = value < 0 ? 1 : 0;
  const m = sign ? -value - 1 : value;
  if (m < 0x40000000) {
    // zig-zag value below 2^31: the int32 operators are exact.
    let v = (m * 2 + sign) >>> 0;
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  buf[pos++] = ((m & 0x3f) << 1) | sign | 0x80; // ToInt32 keeps the low bits of an exact integer
  let rest = Math.floor(m / 64);
  while (rest >= 0x80) {
    buf[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  buf[pos++] = rest;
  return pos;
}

/** Reads an int32 varint at `cursor.pos` and advances it. Throws VarintError past the buffer or after 5 bytes. */
export function readVarint(buf: Buffer, cursor: Cursor): number {
  let pos = cursor.pos;
  const len = buf.length;
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= len) throw new VarintError(`varint runs past the end of the buffer at ${pos}`);
    const b = buf[pos++];
    value |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 28) throw new VarintError(`varint longer than 5 bytes at ${cursor.pos}`);
  }
  cursor.pos = pos;
  return (value >>> 1) ^ -(value & 1);
}

/** Reads an int64 varlong at `cursor.pos` and advances it. Throws VarintError past the buffer or after 10 bytes. */
export function readVarlong(buf: Buffer, cursor: Cursor): number {
  let pos = cursor.pos;
  const len = buf.length;
  // The low 28 bits fit the int32 operators; beyond them the value is accumulated by multiplication.
  let low = 0;
  let shift = 0;
  for (;;) {
    if (pos >= len) throw new VarintError(`varlong runs past the end of the buffer at ${pos}`);
    const b = buf[pos++];
    low |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      return (low >>> 1) ^ -(low & 1);
    }
    shift += 7;
    if (shift === 28) break;
  }
  let high = 0;
  let scale = 1;
  for (;;) {
    if (pos >= len) throw new VarintError(`varlong runs past the end of the buffer at ${pos}`);
    const b = buf[pos++];
    high += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
    shift += 7;
    if (shift > 63) throw new VarintError(`varlong longer than 10 bytes at ${cursor.pos}`);
  }
  cursor.pos = pos;
  // zig-zag value = high * 2^28 + low; its half (the magnitude) is exact where the whole may not be.
  const m = high * 0x8000000 + (low >>> 1);
  return low & 1 ? -m - 1 : m;
}

/** Reads a big-endian int64 as a number (exact within ±(2^53 - 1)). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

/** Writes a number as a big-endian int64 with two int32 writes, which is faster than a BigInt write. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}
