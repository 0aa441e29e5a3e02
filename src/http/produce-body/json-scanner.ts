import { ApiError } from '../../errors';
import { fastSkipValue, hasUnicodeEscapeDigits } from './fast-skip';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * A cursor over JSON text (RFC 8259) that validates as it moves, and accepts exactly what
 * JSON.parse accepts: whitespace is space, tab, LF and CR only; strings refuse raw control
 * characters and unknown escapes but keep lone surrogates (as JSON.parse does); numbers follow the
 * grammar `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`. Callers either read a token into a JS value
 * (strings, numbers) or skip a whole value, keeping its text as a slice of the input.
 * Invariant: `pos` is always an index into `text`; after a read or skip it is just past the token.
 * Nesting is walked with an explicit stack, not recursion, so depth is bounded by the body size
 * (the body limit), never by the call stack.
 */
export class JsonScanner {
  pos = 0;
  private readonly stack: number[] = [];

  constructor(readonly text: string) {}

  /** Moves past JSON whitespace and returns the next character code (NaN at the end). */
  ws(): number {
    const text = this.text;
    let pos = this.pos;
    let c = text.charCodeAt(pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++pos);
    this.pos = pos;
    return c;
  }

  fail(what: string): never {
    const at = this.pos >= this.text.length ? 'at the end of the body' : `at position ${this.pos}`;
    throw new ApiError('MALFORMED_REQUEST', `Body is not valid JSON: ${what} ${at}`);
  }

  /** Consumes `char` after optional whitespace, or fails. */
  expect(char: number, name: string): void {
    if (this.ws() !== char) this.fail(`expected '${name}'`);
    this.pos++;
  }

  /**
   * After a member or element, at ',' or the container's close: consumes either and answers
   * whether another member follows.
   */
  more(close: number): boolean {
    const c = this.ws();
    if (c === COMMA) {
      this.pos++;
      return true;
    }
    if (c !== close) this.fail(close === CLOSE_BRACE ? "expected ',' or '}'" : "expected ',' or ']'");
    this.pos++;
    return false;
  }

  /** At '{' or '[' (after whitespace): consumes it and answers whether the container is empty (and consumes its close too). */
  open(openChar: number): boolean {
    this.pos++;
    const close = openChar === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
    if (this.ws() === close) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Reads an object member's name and its ':' (the cursor at the name's opening quote, after whitespace). */
  memberName(): string {
    if (this.ws() !== QUOTE) this.fail('expected a member name');
    const name = this.readString();
    this.expect(COLON, ':');
    return name;
  }

  /**
   * Moves past an object member's name and its ':' without building the name, answering the
   * index of `names` the name equals (-1 for any other name). An escaped name is compared by its
   * value; a plain one in place, so the common case allocates nothing.
   */
  memberIndex(names: readonly string[]): number {
    if (this.ws() !== QUOTE) this.fail('expected a member name');
    const start = this.pos + 1;
    const escaped = this.skipString();
    const end = this.pos - 1;
    this.expect(COLON, ':');
    if (escaped) return names.indexOf(unescape(this.text, start, end));
    const length = end - start;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name.length === length && this.text.startsWith(name, start)) return i;
    }
    return -1;
  }

  /** Moves past an object member's name and its ':' (inside values skipped whole). */
  private skipMemberName(): void {
    if (this.ws() !== QUOTE) this.fail('expected a member name');
    this.skipString();
    this.expect(COLON, ':');
  }

  /** Moves past one string (the cursor at its opening quote) and answers whether it has escapes. */
  skipString(): boolean {
    const text = this.text;
    let pos = this.pos + 1;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = text.charCodeAt(pos + 1);
        if (e === 0x75 /* u */) {
          if (!hasUnicodeEscapeDigits(text, pos)) {
            this.pos = pos;
            this.fail('bad \\u escape');
          }
          pos += 6;
          continue;
        }
        if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
          this.pos = pos;
          this.fail('bad escape');
        }
        pos += 2;
        continue;
      }
      if (c < 0x20 || c !== c) {
        this.pos = pos;
        this.fail(c !== c ? 'unterminated string' : 'control character in string');
      }
      pos++;
    }
    this.pos = pos + 1;
    return escaped;
  }

  /** Reads one string (the cursor at its opening quote) as its unescaped value. */
  readString(): string {
    const start = this.pos + 1;
    if (!this.skipString()) return this.text.slice(start, this.pos - 1);
    return unescape(this.text, start, this.pos - 1);
  }

  /** Moves past one number, validating its grammar. */
  skipNumber(): void {
    const text = this.text;
    let pos = this.pos;
    if (text.charCodeAt(pos) === MINUS) pos++;
    let c = text.charCodeAt(pos);
    if (c === ZERO) c = text.charCodeAt(++pos);
    else if (c > ZERO && c <= NINE) pos = digits(text, pos);
    else this.failAt(pos, 'bad number');
    c = text.charCodeAt(pos);
    if (c === DOT) {
      const after = digits(text, pos + 1);
      if (after === pos + 1) this.failAt(after, 'bad number');
      pos = after;
      c = text.charCodeAt(pos);
    }
    if (c === 0x65 || c === 0x45) {
      pos++;
      c = text.charCodeAt(pos);
      if (c === PLUS || c === MINUS) pos++;
      const after = digits(text, pos);
      if (after === pos) this.failAt(after, 'bad number');
      pos = after;
    }
    this.pos = pos;
  }

  /** Reads one number (the cursor at it, after whitespace). */
  readNumber(): number {
    const start = this.pos;
    this.skipNumber();
    return Number(this.text.slice(start, this.pos));
  }

  /** True when the next value (after whitespace) is the literal null, which is then consumed. */
  takeNull(): boolean {
    if (this.ws() === 0x6e && this.text.startsWith('null', this.pos)) {
      this.pos += 4;
      return true;
    }
    return false;
  }

  /**
   * Moves past one whole value of any kind, validating it, without building it. Iterative: the
   * stack holds, per open container, whether it is an object (1) or an array (0).
   */
  skipValue(): void {
    // valid values (nearly all) in one tight loop; on anything else the exact walk below names the error
    const end = fastSkipValue(this.text, this.pos);
    if (end >= 0) {
      this.pos = end;
      return;
    }
    const stack = this.stack;
    const base = stack.length;
    for (;;) {
      // a value starts here
      const c = this.ws();
      if (c === OPEN_BRACE) {
        if (!this.open(OPEN_BRACE)) {
          this.skipMemberName();
          stack.push(1);
          continue;
        }
      } else if (c === OPEN_BRACKET) {
        if (!this.open(OPEN_BRACKET)) {
          stack.push(0);
          continue;
        }
      } else if (c === QUOTE) {
        this.skipString();
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        this.skipNumber();
      } else {
        this.skipLiteral(c);
      }
      // the value ended: close containers until one has a next member
      for (;;) {
        if (stack.length === base) return;
        const isObject = stack[stack.length - 1] === 1;
        if (this.more(isObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
          if (isObject) this.skipMemberName();
          break;
        }
        stack.pop();
      }
    }
  }

  /** Fails unless only whitespace is left. */
  end(): void {
    const c = this.ws();
    if (c === c /* not NaN: text is left */) this.fail('unexpected text after the value');
  }

  private skipLiteral(c: number): void {
    const text = this.text;
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    if (word === undefined || !text.startsWith(word, this.pos)) this.fail(c !== c ? 'unexpected end' : 'unexpected character');
    this.pos += word.length;
  }

  private failAt(pos: number, what: string): never {
    this.pos = pos;
    return this.fail(what);
  }
}

function digits(text: string, pos: number): number {
  let c = text.charCodeAt(pos);
  while (c >= ZERO && c <= NINE) c = text.charCodeAt(++pos);
  return pos;
}

/** The value of a validated string body [start, end) that has escapes. */
function unescape(text: string, start: number, end: number): string {
  let out = '';
  let from = start;
  let pos = text.indexOf('\\', start);
  while (pos !== -1 && pos < end) {
    out += text.slice(from, pos);
    const e = text.charCodeAt(pos + 1);
    if (e === 0x75) {
      out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
      pos += 6;
    } else {
      out += e === 0x62 ? '\b' : e === 0x66 ? '\f' : e === 0x6e ? '\n' : e === 0x72 ? '\r' : e === 0x74 ? '\t' : text[pos + 1];
      pos += 2;
    }
    from = pos;
    pos = text.indexOf('\\', pos);
  }
  return out + text.slice(from, end);
}
