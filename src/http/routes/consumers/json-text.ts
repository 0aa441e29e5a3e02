/**
 * Whether bytes are one complete JSON text (RFC 8259): a value with optional whitespace around it.
 * It answers what JSON.parse(bytes.toString('utf8')) would accept, without building the value, so
 * that stored JSON can be copied into a response instead of parsed and serialized again.
 * Bytes of 0x80 and above only occur inside strings (multi-byte UTF-8, or bytes that decode to
 * U+FFFD, which JSON.parse accepts there too). Nesting deeper than MAX_DEPTH is answered by
 * JSON.parse itself.
 */
const MAX_DEPTH = 256;
const TOO_DEEP = Symbol('too deep');

export function isJsonText(bytes: Buffer, start = 0, end = bytes.length): boolean {
  const scanner = SCANNER;
  scanner.reset(bytes, start, end);
  try {
    scanner.skipWhitespace();
    if (!scanner.value(0)) return false;
    scanner.skipWhitespace();
    return scanner.position === end;
  } catch (err) {
    if (err !== TOO_DEEP) throw err;
    try {
      JSON.parse(bytes.toString('utf8', start, end));
      return true;
    } catch {
      return false;
    }
  } finally {
    scanner.reset(EMPTY, 0, 0);
  }
}

const EMPTY = Buffer.alloc(0);

/** Reads bytes[start, end) only: a value's bytes usually sit inside a larger buffer (a record batch). */
class Scanner {
  position = 0;
  private bytes: Buffer = EMPTY;
  private end = 0;

  reset(bytes: Buffer, start: number, end: number): void {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
  }

  /** The byte at i, or -1 past the end. */
  private at(i: number): number {
    return i < this.end ? (this.bytes[i] as number) : -1;
  }

  skipWhitespace(): void {
    const b = this.bytes;
    const end = this.end;
    let i = this.position;
    while (i < end) {
      const c = b[i] as number;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.position = i;
  }

  value(depth: number): boolean {
    const c = this.at(this.position);
    switch (c) {
      case 0x7b: // {
        return this.container(depth + 1, 0x7d, this.objectMember);
      case 0x5b: // [
        return this.container(depth + 1, 0x5d, this.arrayMember);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true');
      case 0x66: // f
        return this.literal('false');
      case 0x6e: // n
        return this.literal('null');
      default:
        return this.number();
    }
  }

  /** An object or an array: members separated by commas up to the closing bracket. */
  private container(depth: number, close: number, member: (depth: number) => boolean): boolean {
    if (depth > MAX_DEPTH) throw TOO_DEEP;
    this.position++;
    this.skipWhitespace();
    if (this.at(this.position) === close) {
      this.position++;
      return true;
    }
    for (;;) {
      if (!member(depth)) return false;
      this.skipWhitespace();
      const c = this.at(this.position);
      this.position++;
      if (c === close) return true;
      if (c !== 0x2c) return false; // ,
      this.skipWhitespace();
    }
  }

  /** "name": value */
  private readonly objectMember = (depth: number): boolean => {
    if (this.at(this.position) !== 0x22 || !this.string()) return false;
    this.skipWhitespace();
    if (this.at(this.position) !== 0x3a) return false; // :
    this.position++;
    this.skipWhitespace();
    return this.value(depth);
  };

  private readonly arrayMember = (depth: number): boolean => this.value(depth);

  private string(): boolean {
    const b = this.bytes;
    const end = this.end;
    let i = this.position + 1;
    while (i < end) {
      const c = b[i] as number;
      if (c === 0x22) {
        this.position = i + 1;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = this.at(i + 1);
        if (e === 0x75) {
          for (let k = i + 2; k < i + 6; k++) if (!isHex(this.at(k))) return false;
          i += 6;
          continue;
        }
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return false;
        i += 2;
        continue;
      }
      i++;
    }
    return false;
  }

  private number(): boolean {
    let i = this.position;
    if (this.at(i) === 0x2d) i++; // -
    if (this.at(i) === 0x30) i++;
    else if (isDigit19(this.at(i))) while (isDigit(this.at(i))) i++;
    else return false;
    if (this.at(i) === 0x2e) {
      i++;
      if (!isDigit(this.at(i))) return false;
      while (isDigit(this.at(i))) i++;
    }
    if (this.at(i) === 0x65 || this.at(i) === 0x45) {
      i++;
      if (this.at(i) === 0x2b || this.at(i) === 0x2d) i++;
      if (!isDigit(this.at(i))) return false;
      while (isDigit(this.at(i))) i++;
    }
    this.position = i;
    return true;
  }

  private literal(word: string): boolean {
    for (let k = 0; k < word.length; k++) if (this.at(this.position + k) !== word.charCodeAt(k)) return false;
    this.position += word.length;
    return true;
  }
}

/** One scanner for every check: isJsonText runs to completion before the next can start. */
const SCANNER = new Scanner();

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isDigit19(c: number): boolean {
  return c >= 0x31 && c <= 0x39;
}

function isHex(c: number): boolean {
  return ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
