/**
 * Whether bytes[start, end) are one complete JSON text (RFC 8259): a value with optional whitespace
 * around it. It answers what JSON.parse(bytes.toString('utf8', start, end)) would accept, without
 * building the value, so that stored JSON can be copied into a response instead of parsed and
 * serialized again. Bytes of 0x80 and above only occur inside strings (multi-byte UTF-8, or bytes
 * that decode to U+FFFD, which JSON.parse accepts there too).
 *
 * One loop over the bytes with an explicit stack of open containers (no call per value): this runs
 * on every value of every json read. Nesting deeper than the stack is answered by JSON.parse itself.
 */
const MAX_DEPTH = 1024;
const OBJECT = 1;
const ARRAY = 2;
/** The open containers, innermost last; shared, as one check runs to completion before the next. */
const STACK = new Uint8Array(MAX_DEPTH);

export function isJsonText(b: Buffer, start = 0, end = b.length): boolean {
  let depth = 0;
  let i = skipWhitespace(b, start, end);
  for (;;) {
    // A value starts at i.
    if (i >= end) return false;
    const c = b[i] as number;
    if (c === 0x22) i = stringEnd(b, i, end);
    else if (c === 0x7b || c === 0x5b) {
      i = skipWhitespace(b, i + 1, end);
      const close = c === 0x7b ? 0x7d : 0x5d;
      if (i < end && b[i] === close) i++;
      else {
        if (depth === MAX_DEPTH) return parses(b, start, end);
        STACK[depth++] = c === 0x7b ? OBJECT : ARRAY;
        if (c === 0x7b) i = afterName(b, i, end);
        if (i < 0) return false;
        continue;
      }
    } else if (c === 0x74) i = literalEnd(b, i, end, TRUE);
    else if (c === 0x66) i = literalEnd(b, i, end, FALSE);
    else if (c === 0x6e) i = literalEnd(b, i, end, NULL);
    else i = numberEnd(b, i, end);
    if (i < 0) return false;
    // After a value: close containers until a comma starts the next value.
    for (;;) {
      i = skipWhitespace(b, i, end);
      if (depth === 0) return i === end;
      if (i >= end) return false;
      const d = b[i] as number;
      const inObject = STACK[depth - 1] === OBJECT;
      if (d === 0x2c) {
        i = skipWhitespace(b, i + 1, end);
        if (inObject) i = afterName(b, i, end);
        if (i < 0) return false;
        break;
      }
      if (d !== (inObject ? 0x7d : 0x5d)) return false;
      i++;
      depth--;
    }
  }
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function parses(b: Buffer, start: number, end: number): boolean {
  try {
    JSON.parse(b.toString('utf8', start, end));
    return true;
  } catch {
    return false;
  }
}

function skipWhitespace(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** `"name"` then `:` (whitespace around it): where the member's value starts, or -1. */
function afterName(b: Buffer, i: number, end: number): number {
  if (i >= end || b[i] !== 0x22) return -1;
  i = stringEnd(b, i, end);
  if (i < 0) return -1;
  i = skipWhitespace(b, i, end);
  if (i >= end || b[i] !== 0x3a) return -1;
  return skipWhitespace(b, i + 1, end);
}

/** The string starting at the quote at i: the index after its closing quote, or -1. */
function stringEnd(b: Buffer, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i] as number;
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      if (i + 1 >= end) return -1;
      const e = b[i + 1] as number;
      if (e === 0x75) {
        if (i + 6 > end) return -1;
        for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k] as number)) return -1;
        i += 6;
        continue;
      }
      if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

function literalEnd(b: Buffer, i: number, end: number, word: Buffer): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** The number starting at i: the index after it, or -1. */
function numberEnd(b: Buffer, i: number, end: number): number {
  if (i < end && b[i] === 0x2d) i++; // -
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (isDigit19(b[i] as number)) i = digitsEnd(b, i, end);
  else return -1;
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(b[i] as number)) return -1;
    i = digitsEnd(b, i, end);
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i] as number)) return -1;
    i = digitsEnd(b, i, end);
  }
  return i;
}

function digitsEnd(b: Buffer, i: number, end: number): number {
  while (i < end && isDigit(b[i] as number)) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isDigit19(c: number): boolean {
  return c >= 0x31 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
