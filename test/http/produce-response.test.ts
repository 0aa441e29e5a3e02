import { test } from 'node:test';
import assert from 'node:assert/strict';
import { produceResponseJson } from '../../src/http/routes/produce/produce-response';
import { offsetView } from '../../src/http/routes/receipts/receipt-routes';

test('the produce answer written directly is the text JSON.stringify gives for the v2 shape', () => {
  const cases = [
    [{ partition: 0, offset: 0, timestamp: 1 }],
    [{ partition: 3, offset: -1, timestamp: -1 }, { partition: 3, offset: -1, timestamp: -1 }],
    Array.from({ length: 50 }, (_, i) => ({ partition: i % 4, offset: 2 ** 40 + i, timestamp: 1_763_000_000_000 + i })),
  ];
  for (const outcomes of cases) {
    const expected = JSON.stringify({ offsets: outcomes.map(offsetView), key_schema_id: null, value_schema_id: null });
    assert.equal(produceResponseJson(outcomes), expected);
  }
});
