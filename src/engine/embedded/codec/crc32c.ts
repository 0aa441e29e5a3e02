/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's record batch v2.
 * Ranges of NATIVE_MIN_BYTES and more go to the native implementation of @node-rs/crc32 (about six
 * times the speed here on whole batches; a call costs more than the JS loop on a few hundred
 * bytes). The JS loop serves short ranges and any platform without the native binary:
 * slicing-by-8, eight 256-entry tables fold eight input bytes per step; table k maps a byte to its
 * CRC contribution when followed by k zero bytes. Both give the same value (tested).
 */

const NATIVE_MIN_BYTES = 512;

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

/** The native CRC-32C, or undefined where its binary does not load (the JS loop then does everything). */
const native: NativeCrc32c | undefined = loadNative();

function loadNative(): NativeCrc32c | undefined {
  try {
    return (require('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
  } catch {
    return undefined;
  }
}

/** Which implementation serves long ranges (a test checks the native one loads where it should). */
export const crc32cImplementation: 'native' | 'js' = native === undefined ? 'js' : 'native';

const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = buildTables();

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1];
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(t);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/** CRC-32C of buf[start, end), as an unsigned 32-bit number. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  return crc32cUpdate(0, buf, start, end);
}

/**
 * Continues a CRC-32C over more bytes: `crc32cUpdate(crc32c(a), b)` equals the CRC of a then b.
 * The register is kept inverted inside so that chaining needs no extra state.
 */
export function crc32cUpdate(crc: number, buf: Buffer, start = 0, end = buf.length): number {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`crc32c range [${start}, ${end}) outside buffer of ${buf.length} bytes`);
  }
  if (native !== undefined && end - start >= NATIVE_MIN_BYTES) return native(buf.subarray(start, end), crc) >>> 0;
  return crc32cLoop(crc, buf, start, end);
}

/** The JS implementation of crc32cUpdate, for any range. */
export function crc32cLoop(crc: number, buf: Buffer, start: number, end: number): number {
  let c = ~crc;
  let i = start;
  const fast = end - ((end - start) & 7);
  while (i < fast) {
    const lo = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
    i += 8;
  }
  while (i < end) c = T0[(c ^ buf[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
