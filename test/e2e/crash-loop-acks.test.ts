import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBasket } from './process';

/**
 * acks=1 under kill -9: an answered record was written to the log file before its answer, so the
 * death of the process (not of the machine) loses none of them. Three cycles of load, kill, restart.
 */
const CYCLES = 3;
const WORKERS = 8;

test('kill -9 during acks=1 load loses no answered record', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-acks1-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const acked = new Map<string, number>();
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const basket = await startBasket({ BASKET_DATA_DIR: dataDir });
    t.after(() => basket.kill());
    let killed = false;
    const killer = setTimeout(() => {
      killed = true;
      void basket.kill();
    }, 200 + Math.floor(Math.random() * 300));
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !killed; n++) {
        const value = `c${cycle}-w${w}-${n}`;
        try {
          const res = await fetch(`${basket.url}/topics/acks1/partitions/0?acks=1`, {
            method: 'POST',
            headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
            body: JSON.stringify({ records: [{ value }] }),
          });
          if (res.status === 200) acked.set(value, ((await res.json()) as { offsets: Array<{ offset: number }> }).offsets[0].offset);
        } catch {
          // the process is gone
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    clearTimeout(killer);
    await basket.kill();
  }
  const basket = await startBasket({ BASKET_DATA_DIR: dataDir });
  const found = new Map<string, number>();
  for (let offset = 0; ; ) {
    const res = await fetch(`${basket.url}/topics/acks1/partitions/0/records?offset=${offset}&max_bytes=4194304`);
    const records = (await res.json()) as Array<{ value: string; offset: number }>;
    if (records.length === 0) break;
    for (const r of records) found.set(r.value, r.offset);
    offset = records[records.length - 1].offset + 1;
  }
  assert.ok(acked.size > 0);
  for (const [value, offset] of acked) assert.equal(found.get(value), offset, `answered record ${value} lost or moved`);
  t.diagnostic(`${acked.size} answered acks=1 records, all found after ${CYCLES} kills`);
  assert.equal(await basket.stop(), 0);
});
