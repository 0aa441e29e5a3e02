/** A constant piece of JSON text, kept as little-endian words for copying it a word at a time. */
export class JsonFragment {
  readonly bytes: Buffer;
  /** The bytes four at a time, the last word padded with zeros. */
  readonly words: Int32Array;

  constructor(text: string) {
    this.bytes = Buffer.from(text, 'utf8');
    const padded = Buffer.alloc((this.bytes.length + 3) & ~3);
    this.bytes.copy(padded);
    this.words = new Int32Array(padded.length / 4);
    for (let i = 0; i < this.words.length; i++) this.words[i] = padded.readInt32LE(i * 4);
  }
}

/**
 * Appends JSON text to a growing byte buffer: record bytes are copied as they are, never turned
 * into JS strings and back. `string` writes a JSON string from UTF-8 bytes, copying them between
 * quotes when nothing needs escaping (the common case) and escaping through JSON.stringify otherwise.
 */
export class JsonBytesWriter {
  private buffer: Buffer;
  private view: DataView<ArrayBufferLike>;
  private length = 0;
  /** The last source of `raw` and a view of it. */
  private source: Buffer = EMPTY;
  private sourceView: DataView<ArrayBufferLike> = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);

  /** Writes into `initial` (its old contents are overwritten), or a new buffer of that many bytes. */
  constructor(initial: number | Buffer = 64 * 1024) {
    this.buffer = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  }

  /** ASCII text: fragments of JSON syntax and numbers. */
  ascii(text: string): void {
    const n = text.length;
    this.reserve(n);
    if (n > 64) {
      this.length += this.buffer.write(text, this.length, 'latin1');
      return;
    }
    // Short fragments: a loop costs less than a call into the native writer.
    const b = this.buffer;
    let at = this.length;
    for (let i = 0; i < n; i++) b[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Bytes that are already JSON text: bytes[start, end). */
  raw(bytes: Buffer, start = 0, end = bytes.length): void {
    const n = end - start;
    this.reserve(n + 3);
    let at = this.length;
    this.length += n;
    if (n > 512) {
      bytes.copy(this.buffer, at, start, end);
      return;
    }
    // Short ranges (keys, values) are most of a response: Buffer#copy would allocate a view per
    // range; words through DataViews allocate one view per source buffer. The last word may run
    // up to three bytes past the range: the next write covers them (reserved above), and the
    // source is read that far only where it has the bytes.
    if (end + 3 <= bytes.length) {
      if (bytes !== this.source) {
        this.source = bytes;
        this.sourceView = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      }
      const from = this.sourceView;
      const to = this.view;
      for (; start < end; start += 4, at += 4) to.setInt32(at, from.getInt32(start, true), true);
      return;
    }
    const b = this.buffer;
    for (let i = start; i < end; i++) b[at++] = bytes[i] as number;
  }

  /** A constant piece of JSON, a word at a time. */
  fragment(piece: JsonFragment): void {
    const n = piece.bytes.length;
    this.reserve(n + 3);
    const words = piece.words;
    const to = this.view;
    let at = this.length;
    for (let k = 0; k < words.length; k++, at += 4) to.setInt32(at, words[k] as number, true);
    this.length += n;
  }

  /** Writes again what was written at [start, end) (a timestamp that repeats, record after record). */
  repeat(start: number, end: number): void {
    this.reserve(end - start + 3);
    // Reads past `end` only bytes already written or reserved; the bytes it writes past the copy are
    // covered by the next write, and never reach [start, end).
    const to = this.view;
    let at = this.length;
    for (let i = start; i < end; i += 4, at += 4) to.setInt32(at, to.getInt32(i, true), true);
    this.length += end - start;
  }

  /** A JSON string holding the UTF-8 text of bytes[start, end). */
  string(bytes: Buffer, start = 0, end = bytes.length): void {
    if (end - start <= SHORT_STRING && this.plainAscii(bytes, start, end)) return;
    if (needsEscape(bytes, start, end)) {
      this.text(JSON.stringify(bytes.toString('utf8', start, end)));
      return;
    }
    this.reserve(end - start + 2);
    this.buffer[this.length++] = 0x22;
    this.raw(bytes, start, end);
    this.buffer[this.length++] = 0x22;
  }

  /**
   * Short strings (keys, most often) checked and copied in one pass while they are printable ASCII
   * other than a quote or a backslash; false, having written nothing, at the first other byte.
   */
  private plainAscii(bytes: Buffer, start: number, end: number): boolean {
    this.reserve(end - start + 2);
    const b = this.buffer;
    let at = this.length;
    b[at++] = 0x22;
    for (let i = start; i < end; i++) {
      const c = bytes[i] as number;
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) return false;
      b[at++] = c;
    }
    b[at++] = 0x22;
    this.length = at;
    return true;
  }

  /** A JSON string holding the base64 of bytes[start, end) (standard alphabet, padded, as Buffer's). */
  base64(bytes: Buffer, start = 0, end = bytes.length): void {
    this.reserve(Math.ceil((end - start) / 3) * 4 + 2);
    const b = this.buffer;
    const to = this.view;
    let at = this.length;
    b[at++] = 0x22;
    // Written in place: a base64 string per value would be allocated only to be copied here. Three
    // bytes make four characters, written as one word of two 12-bit pairs.
    let i = start;
    for (; i + 3 <= end; i += 3, at += 4) {
      const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
      to.setInt32(at, (BASE64_PAIRS[n >>> 12] as number) | ((BASE64_PAIRS[n & 4095] as number) << 16), true);
    }
    if (i < end) {
      const two = i + 1 < end;
      const n = ((bytes[i] as number) << 16) | (two ? (bytes[i + 1] as number) << 8 : 0);
      b[at++] = BASE64[n >>> 18] as number;
      b[at++] = BASE64[(n >>> 12) & 63] as number;
      b[at++] = two ? (BASE64[(n >>> 6) & 63] as number) : 0x3d;
      b[at++] = 0x3d;
    }
    b[at++] = 0x22;
    this.length = at;
  }

  /** A non-negative integer below 2^53 (offsets, timestamps), as digits; anything else as String(n). */
  uint(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER) || n !== Math.floor(n)) {
      this.ascii(String(n));
      return;
    }
    this.reserve(16);
    if (n <= INT32_MAX) {
      this.length = writeDigits(this.buffer, this.length, n);
      return;
    }
    // Int32 arithmetic is the fast one (a double's % is a library call): the high part and eight
    // low digits, zero-padded.
    const high = Math.floor(n / 1e8);
    let low = (n - high * 1e8) | 0;
    const b = this.buffer;
    const at = writeDigits(b, this.length, high);
    for (let i = at + 7; i >= at; i--) {
      const q = (low / 10) | 0;
      b[i] = 0x30 + low - q * 10;
      low = q;
    }
    this.length = at + 8;
  }

  /** Any JS string, UTF-8 encoded. */
  text(text: string): void {
    this.reserve(Buffer.byteLength(text, 'utf8'));
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** The whole buffer written into now (it changes when the text outgrows it). */
  get backing(): Buffer {
    return this.buffer;
  }

  /** Bytes written so far; a view, valid until the next write. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  get size(): number {
    return this.length;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }
}

const INT32_MAX = 0x7fff_ffff;
/** Strings up to this long try the one-pass copy first. */
const SHORT_STRING = 32;
const EMPTY = Buffer.alloc(0);
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
/** The two characters of every 12 bits, as a little-endian 16-bit word (first character low). */
const BASE64_PAIRS = new Uint16Array(4096);
for (let n = 0; n < 4096; n++) BASE64_PAIRS[n] = (BASE64[n >>> 6] as number) | ((BASE64[n & 63] as number) << 8);

/** Digits of 0 <= n <= INT32_MAX at `at`; returns the position after them. */
function writeDigits(b: Buffer, at: number, value: number): number {
  let n = value | 0;
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = (n / 10) | 0;
    b[i] = 0x30 + n - q * 10;
    n = q;
  }
  return end;
}

/**
 * Whether UTF-8 bytes need escaping inside a JSON string: quote, backslash, control characters,
 * or bytes that are not well-formed UTF-8 (decoding shows those as U+FFFD, so they take the slow
 * path, whose output is then exactly JSON.stringify's).
 */
function needsEscape(bytes: Buffer, start: number, end: number): boolean {
  const n = end;
  for (let i = start; i < n; i++) {
    const c = bytes[i] as number;
    if (c < 0x80) {
      if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
      continue;
    }
    // Well-formed UTF-8 (Unicode 3.9, table 3-7): the lead byte fixes the length and the range of the second byte.
    let extra: number;
    let low = 0x80;
    let high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) extra = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c === 0xe0) low = 0xa0;
      else if (c === 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c === 0xf0) low = 0x90;
      else if (c === 0xf4) high = 0x8f;
    } else return true;
    if (i + extra >= n) return true;
    const second = bytes[i + 1] as number;
    if (second < low || second > high) return true;
    for (let k = 2; k <= extra; k++) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return true;
    i += extra;
  }
  return false;
}
