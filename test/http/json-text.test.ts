/**
 * isJsonText against JSON.parse on generated texts and their mutations, each checked alone and as a
 * range inside other bytes (a value inside a record batch): the bytes around the range must never
 * change the answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonText } from '../../src/http/routes/consumers/json-text';

/** A seeded linear congruential generator, so a failure names a reproducible case. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
}

const PIECES = ['0', '-1', '12.5e-3', '1E+2', 'true', 'false', 'null', '""', '"a\\"b"', '"\\u00e9\\n"', '"é ☃ 𝄞"', ' ', '\n', '\t'];
const BREAKERS = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '.', 'e', '0', '1', 'x', '\u0001', ' ', 'tru', 'nul', '\\u12', '+'];

function generate(next: () => number, depth: number): string {
  const roll = next();
  if (depth > 4 || roll < 0.4) return PIECES[Math.floor(next() * PIECES.length)] as string;
  const n = Math.floor(next() * 4);
  const ws = () => (next() < 0.2 ? ' \n'.slice(0, 1 + Math.floor(next() * 2)) : '');
  if (roll < 0.7) return `[${ws()}${Array.from({ length: n }, () => generate(next, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  return `{${ws()}${Array.from({ length: n }, (_, i) => `"k${i}"${ws()}:${ws()}${generate(next, depth + 1)}`).join(',')}${ws()}}`;
}

function mutate(next: () => number, text: string): string {
  const at = Math.floor(next() * (text.length + 1));
  const piece = BREAKERS[Math.floor(next() * BREAKERS.length)] as string;
  const roll = next();
  if (roll < 0.33) return text.slice(0, at) + piece + text.slice(at);
  if (roll < 0.66) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + piece + text.slice(at + 1);
}

function parses(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

test('isJsonText agrees with JSON.parse on generated and mutated texts, alone and as a range inside other bytes', () => {
  const next = random(20261122);
  let valid = 0;
  let invalid = 0;
  for (let n = 0; n < 20_000; n++) {
    let text = generate(next, 0);
    const mutations = Math.floor(next() * 3);
    for (let m = 0; m < mutations; m++) text = mutate(next, text);
    const bytes = Buffer.from(text, 'utf8');
    const expected = parses(bytes);
    if (expected) valid++;
    else invalid++;
    assert.equal(isJsonText(bytes), expected, JSON.stringify(text));
    // The same bytes between others that would complete or break them if they were read.
    for (const [before, after] of [['{"a":', 'e', ], ['[', '1]'], ['"', '"'], ['tru', 'ue}']]) {
      const framed = Buffer.concat([Buffer.from(before as string), bytes, Buffer.from(after as string)]);
      assert.equal(isJsonText(framed, (before as string).length, (before as string).length + bytes.length), expected, `${JSON.stringify(text)} framed`);
    }
  }
  assert.ok(valid > 5000 && invalid > 5000, `${valid} valid and ${invalid} invalid texts`);
});

test('isJsonText: nesting deeper than its stack is answered as JSON.parse answers it', () => {
  for (const depth of [1023, 1024, 1025, 5000]) {
    const deep = Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    assert.equal(isJsonText(deep), true, `${depth} deep`);
    assert.equal(isJsonText(Buffer.from(`${deep}]`)), false, `${depth} deep, one bracket too many`);
    assert.equal(isJsonText(Buffer.from(`{"a":${deep.toString()}}`)), true, `${depth} deep inside an object`);
  }
});
