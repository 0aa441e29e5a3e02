import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../src/errors';
import { JsonScanner } from '../../src/http/produce-body/json-scanner';
import { fastSkipValue } from '../../src/http/produce-body/fast-skip';
import { NOT_TEXT, parseProduceBody, type ScannedProduceBody } from '../../src/http/produce-body/produce-body';

/** Seeded, so a failure names a case that reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const WS = ['', '', '', ' ', '\n', '\t', '\r\n  '];
const STRINGS = ['', 'a', 'user-1', 'é', '\\n', '\\"q\\"', '\\u00e9', '\\ud83d\\ude00', '\\udc00', '\\/', '\\b\\f\\r\\t', '😀', '\u2028', '__proto__', 'constructor', 'prototype', 'value', 'key'];
const NUMBERS = ['0', '-0', '1', '-12', '3.25', '1e5', '1E+2', '2.5e-3', '12345678901234567890', '0.0', '1.0', '2147483647', '2147483648', '-1'];

function ws(r: Rand): string {
  return pick(r, WS);
}

function jsonString(r: Rand): string {
  return `"${pick(r, STRINGS)}${r() < 0.2 ? pick(r, STRINGS) : ''}"`;
}

/** Random JSON text, spelled in the many ways JSON allows (escapes, exponents, whitespace). */
function jsonText(r: Rand, depth: number): string {
  const kind = depth <= 0 ? Math.floor(r() * 4) : Math.floor(r() * 6);
  switch (kind) {
    case 0:
      return jsonString(r);
    case 1:
      return pick(r, NUMBERS);
    case 2:
      return pick(r, ['true', 'false', 'null']);
    case 3:
      return pick(r, ['[]', '{}', '[ ]', '{ }']);
    case 4: {
      const n = Math.floor(r() * 4);
      return `[${Array.from({ length: n }, () => ws(r) + jsonText(r, depth - 1) + ws(r)).join(',')}]`;
    }
    default: {
      const n = Math.floor(r() * 4);
      return `{${Array.from({ length: n }, () => `${ws(r)}${jsonString(r)}${ws(r)}:${ws(r)}${jsonText(r, depth - 1)}${ws(r)}`).join(',')}}`;
    }
  }
}

/** A produce body that mostly fits the schema, with fields out of shape now and then. */
function produceBody(r: Rand): string {
  const records = Array.from({ length: 1 + Math.floor(r() * 4) }, () => {
    const fields: string[] = [];
    if (r() < 0.8) fields.push(`"value":${ws(r)}${jsonText(r, 3)}`);
    if (r() < 0.5) fields.push(`"key":${ws(r)}${r() < 0.6 ? jsonString(r) : jsonText(r, 2)}`);
    if (r() < 0.3) fields.push(`"partition":${r() < 0.8 ? pick(r, ['0', '1', '2.0', '7', 'null']) : jsonText(r, 1)}`);
    if (r() < 0.3) fields.push(`"timestamp":${r() < 0.8 ? pick(r, ['0', '1700000000000', '1e3']) : jsonText(r, 1)}`);
    if (r() < 0.3) {
      fields.push(`"headers":${pick(r, [
        '[{"key":"a","value":"b"}]', '[{"name":"n","value":null}]', '{"h":"v","i":null}', '[]', '{}',
        '[{"key":"a"}]', '{"h":1}', '"x"', '[{"key":null,"value":"v"}]', '[1]', '{"__proto__":"x"}',
        '{"h":1,"h":"v"}', '{"h":"v","h":1}', '[{"value":1,"value":"v"}]', '[{"key":"k","value":null,"key":2}]',
      ])}`);
    }
    if (r() < 0.2) fields.push(`"extra":${jsonText(r, 2)}`);
    if (r() < 0.1 && fields.length > 0) fields.push(fields[0] as string); // a duplicate member: the last wins
    return `{${fields.join(`,${ws(r)}`)}}`;
  });
  const top = [`"records":${ws(r)}[${records.join(`,${ws(r)}`)}]`];
  if (r() < 0.1) top.push(`"key_schema":${pick(r, ['"s"', '1', 'null'])}`);
  if (r() < 0.1) top.push(`"value_schema_id":${pick(r, ['1', '1.5', '"x"'])}`);
  if (r() < 0.1) top.push(`"other":${jsonText(r, 2)}`);
  if (r() < 0.05) top.unshift('"records":5');
  return `${ws(r)}{${top.join(',')}}${ws(r)}`;
}

const NOISE = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '1', '-', '+', '.', 'e', 'E', 't', 'n', 'u', 'x', '\u0001', '\u2028', '\t', '\ud800'];

/** One random edit or a truncation. */
function mutate(r: Rand, text: string): string {
  const at = Math.floor(r() * (text.length + 1));
  switch (Math.floor(r() * 4)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + pick(r, NOISE) + text.slice(at);
    default:
      return text.slice(0, at) + pick(r, NOISE) + text.slice(at + 1);
  }
}

function scanAccepts(text: string): boolean {
  try {
    const s = new JsonScanner(text);
    s.skipValue();
    s.end();
    return true;
  } catch (err) {
    assert.ok(err instanceof ApiError && err.errorCode === 40001, `scanner threw ${String(err)}`);
    return false;
  }
}

function parseAccepts(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The produce schema, written again plainly from its rules: the reference for the scanner's shape checks. */
function shapeProblem(body: any): string | undefined {
  const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
  const given = (o: any, name: string) => name in o && o[name] !== null; // null means absent
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body';
  if (!Array.isArray(body.records) || body.records.length === 0) return 'records';
  for (const name of ['key_schema', 'value_schema']) if (given(body, name) && typeof body[name] !== 'string') return name;
  for (const name of ['key_schema_id', 'value_schema_id']) if (given(body, name) && !isInt(body[name])) return name;
  for (const r of body.records) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'record';
    if (given(r, 'partition') && !(isInt(r.partition) && r.partition >= 0 && r.partition <= 2147483647)) return 'partition';
    if (given(r, 'timestamp') && !(isInt(r.timestamp) && r.timestamp >= 0)) return 'timestamp';
    if ('headers' in r) {
      const h = r.headers;
      const textOrNull = (v: unknown) => v === null || typeof v === 'string';
      if (Array.isArray(h)) {
        for (const e of h) {
          if (typeof e !== 'object' || e === null || Array.isArray(e) || !('value' in e) || !textOrNull(e.value)) return 'headers';
          if (('key' in e && typeof e.key !== 'string') || ('name' in e && typeof e.name !== 'string')) return 'headers';
        }
      } else if (typeof h !== 'object' || h === null || !Object.values(h).every(textOrNull)) {
        return 'headers';
      }
    }
  }
  return undefined;
}

function hasProtoHeader(body: any): boolean {
  if (typeof body !== 'object' || body === null || !Array.isArray(body.records)) return false;
  return body.records.some((r: any) => r !== null && typeof r === 'object' && r.headers !== null && typeof r.headers === 'object' &&
    (Object.hasOwn(r.headers, '__proto__') || (Array.isArray(r.headers) && r.headers.some((e: any) => e !== null && typeof e === 'object' && Object.hasOwn(e, '__proto__')))));
}

/** Headers as serializeHeaders reads them: array entries' other members are not kept. */
function headerView(headers: unknown): unknown {
  if (!Array.isArray(headers)) return headers === undefined ? undefined : { ...(headers as object) };
  return headers.map((h) => JSON.parse(JSON.stringify({ key: h.key, name: h.name, value: h.value })));
}

/** Checks one body against JSON.parse and the reference shape; answers whether it was accepted. */
function checkProduceBody(text: string): boolean {
  let expected: any;
  let valid = true;
  try {
    expected = JSON.parse(text);
  } catch {
    valid = false;
  }
  let got: ScannedProduceBody | undefined;
  let error: ApiError | undefined;
  try {
    got = parseProduceBody(text, 'json');
  } catch (err) {
    assert.ok(err instanceof ApiError, `unexpected ${String(err)}`);
    error = err;
  }
  const why = JSON.stringify(text);
  if (!valid) {
    assert.equal(error?.errorCode, 40001, `JSON.parse refuses ${why}`);
    return false;
  }
  if (hasProtoHeader(expected)) {
    assert.equal(error?.errorCode, 40001, `__proto__ header in ${why}`);
    return false;
  }
  const problem = shapeProblem(expected);
  if (problem !== undefined) {
    assert.equal(error?.errorCode, 40002, `shape (${problem}) of ${why}: ${error?.message}`);
    return false;
  }
  assert.equal(error, undefined, `refused ${why}: ${error?.message}`);
  const records = (got as ScannedProduceBody).records;
  assert.equal(records.length, expected.records.length, why);
  records.forEach((r, i) => {
    const e = expected.records[i];
    // an absent key or value is a null one
    const parsedValue = r.value === null ? null : JSON.parse(r.value as string);
    assert.deepEqual(parsedValue, e.value ?? null, `records[${i}].value of ${why}`);
    if (typeof e.key === 'string') assert.equal(r.key, e.key, `records[${i}].key of ${why}`);
    else assert.deepEqual(r.key === null ? null : JSON.parse(r.key as string), e.key ?? null, `records[${i}].key of ${why}`);
    assert.equal(r.partition, e.partition ?? undefined, why);
    assert.equal(r.timestamp, e.timestamp ?? undefined, why);
    assert.deepEqual(headerView(r.headers), headerView(e.headers), why);
  });
  return true;
}

test('the scanner accepts exactly what JSON.parse accepts: random documents and their mutations', () => {
  const r = rng(8259);
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const valid = jsonText(r, 4);
    assert.equal(scanAccepts(valid), true, JSON.stringify(valid));
    for (let m = 0; m < 3; m++) {
      const text = mutate(r, valid);
      const expected = parseAccepts(text);
      assert.equal(scanAccepts(text), expected, JSON.stringify(text));
      if (expected) accepted++;
    }
  }
  assert.ok(accepted > 1000, `mutations should leave some valid documents (${accepted})`);
});

test('produce bodies: accepted and refused as JSON.parse and the schema would; values parse back equal', () => {
  const r = rng(1000);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const body = produceBody(r);
    if (checkProduceBody(body)) accepted++;
    else refused++;
    for (let m = 0; m < 3; m++) if (checkProduceBody(mutate(r, body))) accepted++;
    else refused++;
  }
  assert.ok(accepted > 1000 && refused > 1000, `both outcomes are exercised (${accepted} accepted, ${refused} refused)`);
});

test('a value is kept as the client\'s own JSON text; a string key is unescaped; other keys keep their text', () => {
  const body = parseProduceBody('{"records":[{"key":"a\\u0062c","value":{ "n": 1.50, "s":"\\u00e9" }},{"key":{"id":7},"value":null},{"value":"x"}]}', 'json');
  assert.equal(body.records[0]?.value, '{ "n": 1.50, "s":"\\u00e9" }');
  assert.equal(body.records[0]?.key, 'abc');
  assert.equal(body.records[1]?.key, '{"id":7}');
  assert.equal(body.records[1]?.value, null);
  assert.equal(body.records[2]?.value, '"x"');
  assert.equal(body.records[2]?.key, null, 'an absent key is a null key');
});

test('binary and string formats: strings unescaped, other values marked for a conversion error later', () => {
  const body = parseProduceBody('{"records":[{"key":"k\\n","value":"AAAA"},{"value":12,"key":null}]}', 'binary');
  assert.equal(body.records[0]?.key, 'k\n');
  assert.equal(body.records[0]?.value, 'AAAA');
  assert.equal(body.records[1]?.value, NOT_TEXT);
  assert.equal(body.records[1]?.key, null);
});

test('a syntax error anywhere wins over a shape error earlier in the body', () => {
  assert.throws(() => parseProduceBody('{"records":[{"partition":-1}], "x": tru}', 'json'), (err: ApiError) => err.errorCode === 40001);
  assert.throws(() => parseProduceBody('{"records":[{"partition":-1}]}', 'json'), (err: ApiError) => err.errorCode === 40002 && /records\[0\]\.partition/.test(err.message));
  assert.throws(() => parseProduceBody('{"records":[]}', 'json'), (err: ApiError) => err.errorCode === 40002 && /records/.test(err.message));
  assert.throws(() => parseProduceBody('', 'json'), (err: ApiError) => err.errorCode === 40001);
});

test('deep nesting is walked without recursion, as deep as JSON.parse goes', () => {
  const depth = 200_000;
  const deep = '['.repeat(depth) + ']'.repeat(depth);
  JSON.parse(deep);
  const body = parseProduceBody(`{"records":[{"value":${deep}}]}`, 'json');
  assert.equal((body.records[0]?.value as string).length, deep.length);
  assert.throws(() => parseProduceBody(`{"records":[{"value":${deep.slice(1)}}]}`, 'json'), (err: ApiError) => err.errorCode === 40001);
});

test('__proto__ in a header object is refused as the default JSON parser refuses it; in a value it is only text', () => {
  assert.throws(() => parseProduceBody('{"records":[{"value":1,"headers":{"__proto__":"x"}}]}', 'json'), (err: ApiError) => err.errorCode === 40001);
  const body = parseProduceBody('{"records":[{"value":{"__proto__":{"polluted":true}}}]}', 'json');
  assert.equal(body.records[0]?.value, '{"__proto__":{"polluted":true}}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('with the body\'s bytes, json values of an ASCII body are views of those bytes; a non-ASCII body keeps strings', () => {
  const ascii = '{"records":[{"key":"k","value":{ "n": 1.50 }},{"value":null},{"value":"x\\u00e9"}]}';
  const bytes = Buffer.from(ascii, 'utf8');
  const body = parseProduceBody(ascii, 'json', bytes);
  const first = body.records[0]?.value;
  assert.ok(Buffer.isBuffer(first));
  assert.equal(first.buffer, bytes.buffer, 'a view, not a copy');
  assert.equal(first.toString(), '{ "n": 1.50 }');
  assert.equal(body.records[1]?.value, null);
  assert.equal(String(body.records[2]?.value), '"x\\u00e9"');
  assert.equal(body.records[0]?.key, 'k', 'keys stay strings');

  const accented = '{"records":[{"value":"é"},{"value":{"a":"ü"}}]}';
  const other = parseProduceBody(accented, 'json', Buffer.from(accented, 'utf8'));
  assert.deepEqual(other.records.map((r) => r.value), ['"é"', '{"a":"ü"}']);

  // a Latin-1 'é' (0xe9) is invalid UTF-8: one byte and one character (U+FFFD), as many bytes as characters
  const latin1 = Buffer.concat([Buffer.from('{"records":[{"value":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]);
  const invalid = parseProduceBody(latin1.toString(), 'json', latin1);
  assert.equal(invalid.records[0]?.value, '"caf\ufffd"', 'the text the scanner checked, not the raw byte');
});

test('the fast skip accepts every valid document itself and refuses every invalid one (no fallback hides it)', () => {
  const r = rng(4627);
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const doc = jsonText(r, 4);
    for (const text of [doc, mutate(r, doc), mutate(r, doc)]) {
      const accepted = parseAccepts(text);
      // the fast skip moves past one value; JSON.parse also refuses text after it (JSON whitespace only)
      const at = text.search(/[^ \t\n\r]/);
      const end = at < 0 ? -1 : fastSkipValue(text, at);
      const whole = end >= 0 && !/[^ \t\n\r]/.test(text.slice(end));
      assert.equal(whole, accepted, `${JSON.stringify(text)} ${[...text].map((ch) => ch.charCodeAt(0)).join(",")}`);
      if (accepted) valid++;
    }
  }
  assert.ok(valid > 3000, `valid documents exercised (${valid})`);
});
