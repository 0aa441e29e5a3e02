/**
 * The fast path of JsonScanner.skipValue: moves past one JSON value in a single loop over local
 * state (no method calls, no allocation), validating it with the same grammar as JsonScanner
 * (RFC 8259 as JSON.parse accepts it). Returns the position just past the value, or -1 when the
 * text is not valid there or nests deeper than MAX_DEPTH: the caller then scans the value again
 * with JsonScanner's exact path, which names the error (or, for deep nesting, accepts it).
 * So -1 never decides anything; only a value this function accepts is taken without a second look.
 */

/** Open containers are tracked as bits of one integer: bit d is 1 when level d is an object. */
const MAX_DEPTH = 30;

export function fastSkipValue(text: string, pos: number): number {
  let depth = 0;
  let objects = 0;
  let c = text.charCodeAt(pos);
  for (;;) {
    // a value starts at or after whitespace here
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
    if (c === 0x22) {
      pos = skipString(text, pos);
      if (pos < 0) return -1;
    } else if (c === 0x7b || c === 0x5b) {
      const isObject = c === 0x7b;
      c = text.charCodeAt(++pos);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
      if (c === (isObject ? 0x7d : 0x5d)) {
        pos++; // an empty container is a whole value
      } else {
        if (depth === MAX_DEPTH) return -1;
        if (isObject) {
          objects |= 1 << depth;
          pos = skipMemberName(text, pos);
          if (pos < 0) return -1;
        }
        depth++;
        c = text.charCodeAt(pos);
        continue;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      pos = skipNumber(text, pos);
      if (pos < 0) return -1;
    } else if (c === 0x74) {
      if (!text.startsWith('true', pos)) return -1;
      pos += 4;
    } else if (c === 0x66) {
      if (!text.startsWith('false', pos)) return -1;
      pos += 5;
    } else if (c === 0x6e) {
      if (!text.startsWith('null', pos)) return -1;
      pos += 4;
    } else {
      return -1;
    }
    // a value ended: close containers until one has a next member or element
    for (;;) {
      if (depth === 0) return pos;
      c = text.charCodeAt(pos);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
      const inObject = (objects & (1 << (depth - 1))) !== 0;
      if (c === 0x2c) {
        pos++;
        if (inObject) {
          pos = skipMemberName(text, pos);
          if (pos < 0) return -1;
        }
        break;
      }
      if (c !== (inObject ? 0x7d : 0x5d)) return -1;
      pos++;
      depth--;
      objects &= ~(1 << depth);
    }
    c = text.charCodeAt(pos);
  }
}

/** Past a member name and its ':' (at or after whitespace before the name); -1 if not one. */
function skipMemberName(text: string, pos: number): number {
  let c = text.charCodeAt(pos);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
  if (c !== 0x22) return -1;
  pos = skipString(text, pos);
  if (pos < 0) return -1;
  c = text.charCodeAt(pos);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
  return c === 0x3a ? pos + 1 : -1;
}

/** Past a string (at its opening quote); -1 on a raw control character, a bad escape or the end. */
function skipString(text: string, pos: number): number {
  let c = text.charCodeAt(++pos);
  for (;;) {
    // the common characters: anything from ' ' on except '"' and '\' (NaN, the end, fails every test)
    while ((c > 0x22 && c !== 0x5c) || c === 0x20 || c === 0x21) c = text.charCodeAt(++pos);
    if (c === 0x22) return pos + 1;
    if (c !== 0x5c) return -1;
    const e = text.charCodeAt(pos + 1);
    if (e === 0x75) {
      if (!hasUnicodeEscapeDigits(text, pos)) return -1;
      pos += 6;
    } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      pos += 2;
    } else {
      return -1;
    }
    c = text.charCodeAt(pos);
  }
}

/** Past a number (at its first character): -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?; -1 if malformed. */
function skipNumber(text: string, pos: number): number {
  let c = text.charCodeAt(pos);
  if (c === 0x2d) c = text.charCodeAt(++pos);
  if (c === 0x30) c = text.charCodeAt(++pos);
  else if (c > 0x30 && c <= 0x39) {
    do c = text.charCodeAt(++pos);
    while (c >= 0x30 && c <= 0x39);
  } else return -1;
  if (c === 0x2e) {
    c = text.charCodeAt(++pos);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    do c = text.charCodeAt(++pos);
    while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++pos);
    if (c === 0x2b || c === 0x2d) c = text.charCodeAt(++pos);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    do c = text.charCodeAt(++pos);
    while (c >= 0x30 && c <= 0x39);
  }
  return pos;
}

/** Whether the four characters after the `\u` at `pos` are hex digits. */
export function hasUnicodeEscapeDigits(text: string, pos: number): boolean {
  return isHex(text.charCodeAt(pos + 2)) && isHex(text.charCodeAt(pos + 3)) && isHex(text.charCodeAt(pos + 4)) && isHex(text.charCodeAt(pos + 5));
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
