/**
 * BatchRecordCursor reads varints of one and two bytes inline and longer ones through the codec:
 * lengths, offset deltas and timestamp deltas around each width's edges (63/64, 8191/8192, and
 * negative ones) must come out as the decoder reads them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchRecordCursor } from '../../../src/engine/embedded/batch-record-cursor';
import { decodeRecords, encodeRecordBatch, readBatchHeader } from '../../../src/engine/embedded/codec/record-batch';

const SIZES = [0, 1, 31, 32, 63, 64, 100, 4095, 4096, 8191, 8192, 20_000];
const DELTAS = [0, 31, 32, 63, 64, 4095, 4096, 8191, 8192, 1_000_000, 2 ** 33, -1, -64, -65, -4096, -4097, -8193];

test('records whose lengths and deltas need varints of every width read the same through the cursor as through the decoder', () => {
  const base = 1_700_000_000_000;
  const records = SIZES.flatMap((size, i) =>
    DELTAS.map((delta, j) => ({
      key: (i + j) % 3 === 0 ? null : Buffer.alloc(SIZES[(i + j) % SIZES.length] as number, 0x6b),
      value: Buffer.alloc(size, 0x30 + ((i + j) % 10)),
      timestamp: base + delta,
      headers: j % 4 === 0 ? [{ key: 'h'.repeat(SIZES[j % SIZES.length] as number), value: Buffer.alloc(size % 200, 0x76) }] : [],
    })),
  );
  for (let start = 0; start < records.length; start += 100) {
    const buf = encodeRecordBatch(records.slice(start, start + 100), { baseOffset: 5000 + start });
    const header = readBatchHeader(buf, 0);
    const expected = decodeRecords(buf, 0);
    const cursor = new BatchRecordCursor([{ header, buf, pos: 0, filePosition: 0 }], 0, Number.MAX_SAFE_INTEGER, 'varints');
    let n = 0;
    while (cursor.next()) {
      const r = expected[n++]!;
      const what = `record ${r.offset}`;
      assert.equal(cursor.offset, r.offset, what);
      assert.equal(cursor.timestamp, r.timestamp, what);
      assert.deepEqual(cursor.keyEnd === -1 ? null : cursor.keyBytes.subarray(cursor.keyStart, cursor.keyEnd), r.key, what);
      assert.deepEqual(cursor.valueEnd === -1 ? null : cursor.valueBytes.subarray(cursor.valueStart, cursor.valueEnd), r.value, what);
      assert.deepEqual(cursor.headerCount === 0 ? [] : cursor.headers(), r.headers, what);
    }
    assert.equal(n, expected.length);
  }
});
