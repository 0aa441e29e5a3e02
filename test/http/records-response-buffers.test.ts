/**
 * Records responses written into pooled buffers (response-buffers.ts): a buffer goes back to the
 * pool only once its response was handed to the socket in full, so a reader that is slow to take
 * its answer never gets bytes of a later answer rendered into the same buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toWireRecord } from '../../src/produce/record-serde';
import { ResponseBufferPool, responseBuffers } from '../../src/http/routes/consumers/response-buffers';
import { buildTestApp, JSON_V2 } from '../helper';

const RECORDS = 2000;

/** Values of the same size in both topics, with other bytes: a second answer written over the first would show. */
function value(topic: 'a' | 'b', i: number): Buffer {
  return Buffer.from(JSON.stringify({ i, pad: `${topic}${i}-`.repeat(Math.ceil(4000 / (String(i).length + 2))) }));
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('a slow reader of one records response keeps its buffer: a second response rendered and sent meanwhile has its own bytes, and both are whole', async (t) => {
  const { app, engine } = await buildTestApp(t);
  for (const topic of ['a', 'b'] as const) {
    await engine.createTopic({ name: `pooled-${topic}`, partitions: 1 });
    for (let base = 0; base < RECORDS; base += 200) {
      const records = Array.from({ length: 200 }, (_, k) => ({ key: Buffer.from(`k${base + k}`), value: value(topic, base + k) }));
      await engine.append(`pooled-${topic}`, 0, records, { acks: 1 });
    }
  }
  const responses: ServerResponse[] = [];
  app.server.on('request', (_request: unknown, response: ServerResponse) => responses.push(response));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const path = (topic: string) => `/topics/${topic}/partitions/0/records?offset=0&max_bytes=${16 << 20}`;
  const expected = async (topic: string) => {
    const res = await engine.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxBytes: 64 << 20, maxWaitMs: 0, isolationLevel: 'read_committed' });
    return res.partitions[0]!.records.map((r) => toWireRecord('json', r));
  };

  // The slow reader: asks, then reads nothing until the second answer is in.
  const slow = connect(port, '127.0.0.1');
  slow.pause();
  const chunks: Buffer[] = [];
  slow.write(`GET ${path('pooled-a')} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${JSON_V2}\r\nConnection: close\r\n\r\n`);
  await until('the first answer to be on its way', () => responseBuffers.sending === 1);

  const second = await new Promise<Buffer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: path('pooled-b'), headers: { accept: JSON_V2 } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts)));
    });
    req.on('error', reject);
    req.end();
  });
  // The premise: the first answer was still being sent while the second was rendered and sent.
  await until('the second answer to be sent', () => responses[1]?.writableFinished === true);
  assert.equal(responses[0]?.writableFinished, false, 'the first answer is still unfinished');
  assert.equal(responseBuffers.sending, 1);

  slow.on('data', (c: Buffer) => chunks.push(c));
  slow.resume();
  await new Promise((resolve) => slow.once('end', resolve));
  const raw = Buffer.concat(chunks);
  const bodyStart = raw.indexOf('\r\n\r\n') + 4;
  const length = Number(/content-length: (\d+)/i.exec(raw.subarray(0, bodyStart).toString('latin1'))?.[1]);
  const first = raw.subarray(bodyStart);
  assert.equal(first.length, length);
  assert.ok(length > 8_000_000, `a first answer of ${length} bytes, more than the socket buffers hold`);

  assert.equal(second.length, length, 'answers of the same size: the second would cover all of the first');
  assert.deepEqual(JSON.parse(first.toString('utf8')), await expected('pooled-a'));
  assert.deepEqual(JSON.parse(second.toString('utf8')), await expected('pooled-b'));
  await until('both buffers to be back', () => responseBuffers.sending === 0);
  assert.ok(responseBuffers.freeCount >= 1);
});

test('the pool hands a buffer out again only after it was given back, and keeps at most its bound', () => {
  const pool = new ResponseBufferPool(2, 1 << 20);
  const a = pool.take(100_000);
  const b = pool.take(100_000);
  assert.notEqual(a, b);
  pool.give(a);
  pool.give(a); // twice: kept once
  assert.equal(pool.freeCount, 1);
  assert.equal(pool.take(90_000), a);
  assert.notEqual(pool.take(90_000), a, 'a was handed out already');
  pool.give(Buffer.allocUnsafe(2 << 20)); // above the bound: dropped
  pool.give(Buffer.allocUnsafe(1000)); // too small to keep
  assert.equal(pool.freeCount, 0);
  for (const buffer of [a, b, Buffer.allocUnsafe(200_000)]) pool.give(buffer);
  assert.equal(pool.freeCount, 2);
  assert.equal(pool.take(150_000).length, 200_000, 'a free buffer large enough');
});
