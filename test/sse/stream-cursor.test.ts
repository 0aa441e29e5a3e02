import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CursorError, NOT_READ, TopicSet, decodeCursor, encodeCursor } from '../../src/sse/stream-cursor';

test('a cursor round-trips every partition position, including offsets up to 2^53 - 1 and NOT_READ', () => {
  const set = TopicSet.of(['orders', 'payments']);
  const positions = [
    [0, 1, 63, 64, 8191, 8192, 2 ** 31, Number.MAX_SAFE_INTEGER],
    [NOT_READ, 5],
  ];
  const text = encodeCursor(set, positions);
  assert.match(text, /^[A-Za-z0-9_-]+$/, 'URL-safe, no padding');
  assert.deepEqual(decodeCursor(set, text), positions);
});

test('the cursor is compact: a one-partition topic at a million is a dozen characters', () => {
  const text = encodeCursor(TopicSet.of(['t']), [[1_000_000]]);
  assert.ok(text.length <= 12, `${text} is ${text.length} characters`);
});

test('topic order and duplicates do not matter: the set is canonical', () => {
  const a = TopicSet.of(['b', 'a', 'b']);
  const b = TopicSet.of(['a', 'b']);
  assert.deepEqual(a.topics, ['a', 'b']);
  assert.equal(a.id, b.id);
  assert.deepEqual(decodeCursor(b, encodeCursor(a, [[1], [2]])), [[1], [2]]);
});

test('a cursor for another topic set is refused', () => {
  const text = encodeCursor(TopicSet.of(['a']), [[1]]);
  assert.throws(() => decodeCursor(TopicSet.of(['b']), text), /another set of topics/);
  assert.throws(() => decodeCursor(TopicSet.of(['a', 'b']), text), CursorError);
});

test('malformed cursors are refused with a reason, never misread', () => {
  const set = TopicSet.of(['a']);
  const good = encodeCursor(set, [[300, 7]]);
  const raw = Buffer.from(good, 'base64url');
  const variants: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a+b/', /not base64url/],
    ['abc=', /not base64url/],
    [good.slice(0, -1), /truncated or corrupt/],
    [good + 'A', /truncated or corrupt/],
    [Buffer.concat([raw, Buffer.from([0])]).toString('base64url'), /trailing bytes/],
    [Buffer.from([2, ...raw.subarray(1)]).toString('base64url'), /unknown cursor version 2/],
    [Buffer.from([...raw.subarray(0, 5), 0xff, 0xff, 0xff, 0xff, 0x0f]).toString('base64url'), /partitions|corrupt/],
    [Buffer.from([...raw.subarray(0, 5), 2, 5]).toString('base64url'), /offset -3/],
    ['A'.repeat(70_000), /longer than/],
  ];
  for (const [text, reason] of variants) {
    assert.throws(() => decodeCursor(set, text), (err: unknown) => err instanceof CursorError && reason.test(err.message), `'${text.slice(0, 20)}' gives ${reason}`);
  }
});
