import assert from 'node:assert/strict';
import type { FetchRequest } from '../../src/engine/storage-engine';
import type { SuiteContext } from './suite';
import { fetchOne, readAll, record, text } from './suite-helpers';

const request = (partitions: FetchRequest['partitions'], extra: Partial<FetchRequest> = {}): FetchRequest => ({
  partitions,
  maxBytes: 1 << 20,
  maxWaitMs: 0,
  isolationLevel: 'read_uncommitted',
  ...extra,
});

export function defineFetchTests(s: SuiteContext): void {
  s.it('fetch: from a middle offset, with watermarks and nextOffset', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-middle');
    await createTopic(topic, 1);
    for (const v of ['r0', 'r1', 'r2', 'r3', 'r4']) await engine.append(topic, 0, [record(v)], { acks: 1 });
    const result = await fetchOne(engine, topic, 0, 3);
    assert.equal(result.error, undefined);
    // An engine may return fewer records than are there (a broker may answer with one batch).
    assert.ok(result.records.length >= 1);
    assert.deepEqual([result.records[0].offset, text(result.records[0].value)], [3, 'r3']);
    assert.ok(result.records.every((r, i) => r.topic === topic && r.partition === 0 && r.offset === 3 + i));
    assert.equal(result.nextOffset, 3 + result.records.length);
    assert.deepEqual((await readAll(engine, topic, 0, 3)).map((r) => [r.offset, text(r.value)]), [[3, 'r3'], [4, 'r4']]);
    assert.equal(result.highWatermark, 5);
    assert.equal(result.lastStableOffset, 5);
    assert.equal(result.logStartOffset, 0);
  });

  s.it('fetch: maxBytes cuts the response but never below one record', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-maxbytes');
    await createTopic(topic, 1);
    // One append per record, so engines that cut at batch boundaries can cut too.
    for (let i = 0; i < 10; i++) await engine.append(topic, 0, [record(`${i}`.padEnd(1000, '.'))], { acks: 1 });
    const small = await fetchOne(engine, topic, 0, 0, 2500);
    assert.ok(small.records.length >= 1 && small.records.length <= 3, `2500 bytes of 1000-byte records gave ${small.records.length}`);
    assert.equal(small.nextOffset, small.records.length);
    const tiny = await fetchOne(engine, topic, 0, 4, 1);
    assert.equal(tiny.records.length, 1, 'a record larger than maxBytes still comes back alone');
    assert.equal(tiny.records[0].offset, 4);
    assert.equal(tiny.nextOffset, 5);
  });

  s.it('fetch: several partitions and topics in one request', [], async () => {
    const { engine, createTopic } = s.current;
    const a = s.topicName('fetch-multi-a');
    const b = s.topicName('fetch-multi-b');
    await createTopic(a, 2);
    await createTopic(b, 1);
    await engine.append(a, 0, [record('a0')], { acks: 1 });
    await engine.append(a, 1, [record('a1'), record('a1b')], { acks: 1 });
    await engine.append(b, 0, [record('b0')], { acks: 1 });
    // Wait up to a few seconds until all three partitions answered with data (one request may return early with some).
    const want = new Map([[`${a}-0`, ['a0']], [`${a}-1`, ['a1', 'a1b']], [`${b}-0`, ['b0']]]);
    const got = new Map<string, string[]>();
    const offsets = new Map([[`${a}-0`, 0], [`${a}-1`, 0], [`${b}-0`, 0]]);
    for (let round = 0; round < 10 && [...want.keys()].some((k) => (got.get(k)?.length ?? 0) < want.get(k)!.length); round++) {
      const response = await engine.fetch(request([
        { topic: a, partition: 0, offset: offsets.get(`${a}-0`)! },
        { topic: a, partition: 1, offset: offsets.get(`${a}-1`)! },
        { topic: b, partition: 0, offset: offsets.get(`${b}-0`)! },
      ], { maxWaitMs: 500 }));
      assert.deepEqual(response.partitions.map((p) => `${p.topic}-${p.partition}`), [`${a}-0`, `${a}-1`, `${b}-0`], 'results come in request order');
      for (const p of response.partitions) {
        assert.equal(p.error, undefined);
        const k = `${p.topic}-${p.partition}`;
        got.set(k, [...(got.get(k) ?? []), ...p.records.map((r) => text(r.value)!)]);
        offsets.set(k, p.nextOffset);
      }
    }
    assert.deepEqual(Object.fromEntries(got), Object.fromEntries(want));
  });

  s.it('fetch: a long poll wakes up when a record is appended', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-longpoll');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('before')], { acks: 1 });
    // The wait is longer than the test's own timeout: only a wake-up on append lets this pass.
    const polling = engine.fetch(request([{ topic, partition: 0, offset: 1 }], { maxWaitMs: 60_000 }));
    await engine.append(topic, 0, [record('after')], { acks: 1 });
    const result = (await polling).partitions[0];
    assert.deepEqual(result.records.map((r) => [r.offset, text(r.value)]), [[1, 'after']]);
    assert.equal(result.nextOffset, 2);
  });

  s.it('fetch: nothing to read returns empty after the wait', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-timeout');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('only')], { acks: 1 });
    const response = await engine.fetch(request([{ topic, partition: 0, offset: 1 }], { maxWaitMs: 200 }));
    const [p] = response.partitions;
    assert.equal(p.error, undefined);
    assert.deepEqual(p.records, []);
    assert.equal(p.nextOffset, 1);
    assert.equal(p.highWatermark, 1);
  });

  s.it('fetch: an aborted signal ends the wait', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-abort');
    await createTopic(topic, 1);
    const controller = new AbortController();
    const polling = engine.fetch(request([{ topic, partition: 0, offset: 0 }], { maxWaitMs: 60_000, signal: controller.signal }));
    controller.abort();
    const [p] = (await polling).partitions;
    assert.deepEqual(p.records, []);
    assert.equal(p.nextOffset, 0);
  });

  s.it('fetch: an unknown topic or partition fails only its own entry', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-unknown');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('ok')], { acks: 1 });
    const missing = s.topicName('fetch-missing');
    const response = await engine.fetch(request([
      { topic: missing, partition: 0, offset: 0 },
      { topic, partition: 0, offset: 0 },
      { topic, partition: 9, offset: 0 },
    ]));
    const [unknownTopic, good, unknownPartition] = response.partitions;
    assert.equal(unknownTopic.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(unknownPartition.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(good.error, undefined);
    assert.deepEqual(good.records.map((r) => text(r.value)), ['ok']);
  });

  s.it('fetch: an offset past the high watermark is OFFSET_OUT_OF_RANGE', [], async () => {
    const { engine, createTopic } = s.current;
    const topic = s.topicName('fetch-oor');
    await createTopic(topic, 1);
    await engine.append(topic, 0, [record('a'), record('b')], { acks: 1 });
    const result = await fetchOne(engine, topic, 0, 50);
    assert.equal(result.error?.code, 'OFFSET_OUT_OF_RANGE');
    assert.deepEqual(result.records, []);
  });
}
