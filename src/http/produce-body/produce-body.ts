import { isAscii } from 'node:buffer';
import { ApiError } from '../../errors';
import type { EmbeddedFormat } from '../media-types';
import type { WireHeaders } from '../../produce/record-serde';
import { JsonScanner } from './json-scanner';

/** A key or value of the binary or string format that is not a JSON string (refused at conversion, 42203). */
export const NOT_TEXT: unique symbol = Symbol('not a JSON string');

/**
 * One record of a produce body, keys and values already in their stored form. Every record has
 * every field (one object shape for all of them); for the json format without headers it is
 * already the engine's ProducerRecord, so the hot path builds no second object per record.
 * - json format: the value is the client's own JSON text of the value, sliced from the body as it
 *   came (whitespace and number spelling kept; JSON.parse of it equals the value sent). A key that
 *   is a JSON string is its unescaped text (stored without quotes); any other key its JSON text.
 * - binary and string formats: the unescaped string, or NOT_TEXT for any other JSON value.
 * null is a null key or value, also an absent one (both are stored as null); partition, timestamp
 * and headers are undefined when absent or null.
 */
export interface ScannedRecord {
  key: string | null | typeof NOT_TEXT;
  /** A json-format value is a Buffer when the body's bytes were given and are all ASCII (see parseProduceBody). */
  value: string | Buffer | null | typeof NOT_TEXT;
  partition: number | undefined;
  timestamp: number | undefined;
  headers: WireHeaders | undefined;
}

/** Member names the scanner acts on, matched in place (see JsonScanner.memberIndex). */
const BODY_MEMBERS = ['records', 'key_schema', 'value_schema', 'key_schema_id', 'value_schema_id'] as const;
const RECORD_MEMBERS = ['value', 'key', 'partition', 'timestamp', 'headers'] as const;

export interface ScannedProduceBody {
  records: ScannedRecord[];
  key_schema?: string;
  key_schema_id?: number;
  value_schema?: string;
  value_schema_id?: number;
}

const MAX_PARTITION = 2147483647;

/**
 * Parses a produce body in one validating pass over its text: the whole body is checked as JSON
 * (what JSON.parse refuses is 40001), and its shape as the produce schema has it (records: an
 * array of at least one object; partition an integer 0..2^31-1; timestamp an integer >= 0;
 * headers an array of {key|name, value: string|null} or an object of string|null; the schema
 * fields strings or integers), refused with 40002 naming the field. Unknown fields are skipped;
 * null for partition, timestamp or a schema field means absent, as in the Confluent REST Proxy.
 * Nothing is coerced: a partition "1" or a header value 1 is refused.
 * A duplicate member counts as its last occurrence, as in JSON.parse. Shape errors are held until
 * the end so that a syntax error anywhere wins, as when the whole body was parsed first.
 * Keys and values are never built as objects, only sliced, so prototype-polluting member names in
 * them are inert; header objects are built, and refuse `__proto__` as the default JSON parser does.
 */
export function parseProduceBody(text: string, format: EmbeddedFormat, bytes?: Buffer): ScannedProduceBody {
  const s = new JsonScanner(text);
  // ASCII bytes are one per character, so a value's characters [start, end) are its bytes [start,
  // end): the value is taken as a view of the body's bytes, which the engine copies as they are,
  // instead of a string it would encode again. Equal lengths alone do not make a body ASCII: each
  // invalid UTF-8 byte is one character too (U+FFFD), which the view would store raw.
  const ascii = bytes !== undefined && bytes.length === text.length && isAscii(bytes) ? bytes : undefined;
  // the default JSON parser drops a leading byte order mark
  if (text.charCodeAt(0) === 0xfeff) s.pos = 1;
  const shape = new ShapeErrors();
  const body = readBody(s, format, shape, ascii);
  s.end();
  shape.throwFirst();
  return body as ScannedProduceBody;
}

/** The first shape error of the body, held until the JSON is known to be valid. */
class ShapeErrors {
  private first: string | undefined;

  note(message: string): void {
    this.first ??= message;
  }

  throwFirst(): void {
    if (this.first !== undefined) throw new ApiError('INVALID_REQUEST', `Invalid body: ${this.first}`);
  }
}

function readBody(s: JsonScanner, format: EmbeddedFormat, shape: ShapeErrors, ascii: Buffer | undefined): Partial<ScannedProduceBody> | undefined {
  if (s.ws() !== 0x7b) {
    s.skipValue();
    shape.note('body must be an object');
    return undefined;
  }
  const body: Partial<ScannedProduceBody> = {};
  // per member, its last occurrence's shape error (a later duplicate replaces an earlier one)
  const bad: Record<string, string | undefined> = {};
  if (!s.open(0x7b)) {
    do {
      const index = s.memberIndex(BODY_MEMBERS);
      const name = BODY_MEMBERS[index];
      if (name === 'records') {
        bad.records = undefined;
        const records = readRecords(s, format, shape, ascii);
        if (records === undefined) bad.records = 'records must be an array';
        else if (records.length === 0) bad.records = 'records must have at least 1 record';
        else body.records = records;
      } else if (name === 'key_schema' || name === 'value_schema') {
        bad[name] = undefined;
        body[name] = undefined;
        if (s.takeNull()) continue;
        if (s.ws() === 0x22) body[name] = s.readString();
        else {
          s.skipValue();
          bad[name] = `${name} must be a string`;
        }
      } else if (name === 'key_schema_id' || name === 'value_schema_id') {
        bad[name] = undefined;
        body[name] = undefined;
        if (s.takeNull()) continue;
        const id = readInteger(s);
        if (id === undefined) bad[name] = `${name} must be an integer`;
        else body[name] = id;
      } else {
        s.skipValue();
      }
    } while (s.more(0x7d));
  }
  for (const message of Object.values(bad)) if (message !== undefined) shape.note(message);
  if (body.records === undefined && bad.records === undefined) shape.note("body must have the field 'records'");
  return body;
}

/** The records array, or undefined when the value is not an array (skipped). */
function readRecords(s: JsonScanner, format: EmbeddedFormat, shape: ShapeErrors, ascii: Buffer | undefined): ScannedRecord[] | undefined {
  if (s.ws() !== 0x5b) {
    s.skipValue();
    return undefined;
  }
  const records: ScannedRecord[] = [];
  if (s.open(0x5b)) return records;
  do {
    const i = records.length;
    if (s.ws() !== 0x7b) {
      s.skipValue();
      shape.note(`records[${i}] must be an object`);
      records.push(emptyRecord());
    } else {
      records.push(readRecord(s, format, shape, i, ascii));
    }
  } while (s.more(0x5d));
  return records;
}

function emptyRecord(): ScannedRecord {
  return { key: null, value: null, partition: undefined, timestamp: undefined, headers: undefined };
}

function readRecord(s: JsonScanner, format: EmbeddedFormat, shape: ShapeErrors, i: number, ascii: Buffer | undefined): ScannedRecord {
  const r = emptyRecord();
  if (s.open(0x7b)) return r;
  let badPartition = false;
  let badTimestamp = false;
  let badHeaders: string | undefined;
  do {
    switch (RECORD_MEMBERS[s.memberIndex(RECORD_MEMBERS)]) {
      case 'value':
        r.value = format === 'json' ? (ascii === undefined ? readRawValue(s) : readRawBytes(s, ascii)) : readText(s);
        break;
      case 'key':
        r.key = format === 'json' ? readJsonKey(s) : readText(s);
        break;
      case 'partition': {
        const p = readOptionalInteger(s, MAX_PARTITION);
        badPartition = p === OUT_OF_SHAPE;
        r.partition = p === OUT_OF_SHAPE ? undefined : p;
        break;
      }
      case 'timestamp': {
        const t = readOptionalInteger(s, Number.MAX_VALUE);
        badTimestamp = t === OUT_OF_SHAPE;
        r.timestamp = t === OUT_OF_SHAPE ? undefined : t;
        break;
      }
      case 'headers': {
        const headers = readHeaders(s);
        badHeaders = typeof headers === 'string' ? headers : undefined;
        r.headers = typeof headers === 'string' ? undefined : headers;
        break;
      }
      default:
        s.skipValue();
    }
  } while (s.more(0x7d));
  if (badPartition) shape.note(`records[${i}].partition must be an integer from 0 to ${MAX_PARTITION}`);
  if (badTimestamp) shape.note(`records[${i}].timestamp must be an integer >= 0`);
  if (badHeaders !== undefined) shape.note(`records[${i}].headers${badHeaders}`);
  return r;
}

/** The value's own JSON text (json format); null for the literal null. */
function readRawValue(s: JsonScanner): string | null {
  if (s.takeNull()) return null;
  const start = s.pos;
  s.skipValue();
  return s.text.slice(start, s.pos);
}

/** The value's own JSON text as a view of the body's ASCII bytes; null for the literal null. */
function readRawBytes(s: JsonScanner, ascii: Buffer): Buffer | null {
  if (s.takeNull()) return null;
  const start = s.pos;
  s.skipValue();
  return ascii.subarray(start, s.pos);
}

/** A JSON string key as its unescaped text, any other key as its JSON text (json format). */
function readJsonKey(s: JsonScanner): string | null {
  if (s.ws() === 0x22) return s.readString();
  return readRawValue(s);
}

/** A string as its unescaped text, null, or NOT_TEXT for any other value (binary and string formats). */
function readText(s: JsonScanner): string | null | typeof NOT_TEXT {
  if (s.ws() === 0x22) return s.readString();
  if (s.takeNull()) return null;
  s.skipValue();
  return NOT_TEXT;
}

const OUT_OF_SHAPE: unique symbol = Symbol('out of shape');

/** An integer from 0 to max; undefined for null (absent); OUT_OF_SHAPE for anything else (skipped). */
function readOptionalInteger(s: JsonScanner, max: number): number | undefined | typeof OUT_OF_SHAPE {
  if (s.takeNull()) return undefined;
  const n = readInteger(s);
  return n === undefined || n < 0 || n > max ? OUT_OF_SHAPE : n;
}

/** An integer (as JSON numbers go: 1.0 is one), or undefined for any other value (skipped). */
function readInteger(s: JsonScanner): number | undefined {
  const c = s.ws();
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const n = s.readNumber();
    return Number.isInteger(n) ? n : undefined;
  }
  s.skipValue();
  return undefined;
}

/**
 * Headers as an array of {key|name, value} or an object map, both with string or null values;
 * a string (the path and problem after `headers`) when the shape is wrong.
 */
function readHeaders(s: JsonScanner): WireHeaders | string {
  const c = s.ws();
  if (c === 0x5b) return readHeaderArray(s);
  if (c !== 0x7b) {
    s.skipValue();
    return ' must be an array or an object';
  }
  // no prototype: member names are data here
  const map: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  // names whose last occurrence is not a string or null
  let bad: Set<string> | undefined;
  if (!s.open(0x7b)) {
    do {
      const name = headerMemberName(s);
      const value = readStringOrNull(s);
      if (value === undefined) (bad ??= new Set()).add(name);
      else {
        map[name] = value;
        bad?.delete(name);
      }
    } while (s.more(0x7d));
  }
  const first = bad?.values().next().value;
  return first === undefined ? map : `.${first} must be a string or null`;
}

function readHeaderArray(s: JsonScanner): WireHeaders | string {
  const headers: Array<{ key?: string; name?: string; value: string | null }> = [];
  let bad: string | undefined;
  if (s.open(0x5b)) return headers;
  do {
    const i = headers.length;
    const header: { key?: string; name?: string; value: string | null } = { value: null };
    headers.push(header);
    if (s.ws() !== 0x7b) {
      s.skipValue();
      bad ??= `[${i}] must be an object`;
      continue;
    }
    // per member, whether its last occurrence is out of shape; undefined while absent
    const wrong: { key?: boolean; name?: boolean; value?: boolean } = {};
    if (!s.open(0x7b)) {
      do {
        const name = headerMemberName(s);
        if (name === 'key' || name === 'name' || name === 'value') {
          const v = readStringOrNull(s);
          wrong[name] = v === undefined || (v === null && name !== 'value');
          if (!wrong[name]) header[name] = v as string;
        } else {
          s.skipValue();
        }
      } while (s.more(0x7d));
    }
    if (wrong.value === undefined) bad ??= `[${i}] must have the field 'value'`;
    for (const name of ['key', 'name', 'value'] as const) {
      if (wrong[name] === true) bad ??= `[${i}].${name} must be a string${name === 'value' ? ' or null' : ''}`;
    }
  } while (s.more(0x5d));
  return bad ?? headers;
}

function headerMemberName(s: JsonScanner): string {
  const at = s.pos;
  const name = s.memberName();
  if (name === '__proto__') {
    s.pos = at;
    throw new ApiError('MALFORMED_REQUEST', 'Body contains the forbidden member name __proto__');
  }
  return name;
}

function readStringOrNull(s: JsonScanner): string | null | undefined {
  if (s.ws() === 0x22) return s.readString();
  if (s.takeNull()) return null;
  s.skipValue();
  return undefined;
}
