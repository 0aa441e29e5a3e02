import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../helper';
import { connectSse } from '../sse/sse-client';
import { eventually, listenTestApp } from '../sse/live-app';
import { TopicSet, encodeCursor } from '../../src/sse/stream-cursor';

test('bad requests are answered as JSON errors before any stream starts', async (t) => {
  const { app } = await buildTestApp(t, { BASKET_SSE_MAX_TOPICS_PER_STREAM: '2' });
  await post(app, '/topics/e', { records: [{ value: 1 }, { value: 2 }] });
  await post(app, '/topics/f', { records: [{ value: 1 }] });
  const ok = encodeCursor(TopicSet.of(['e']), [[1]]);
  const cases: Array<[string, number, number, RegExp, Record<string, string>?]> = [
    ['/topics/nope/events', 404, 40401, /Topic 'nope' not found/],
    ['/events?topics=e,nope', 404, 40401, /'nope'/],
    ['/topics/e/events?from=yesterday', 400, 40002, /from must be earliest, latest, or a timestamp/],
    ['/topics/e/events?from=-5', 400, 40002, /from must be/],
    ['/topics/e/events?cursor=%21%21', 400, 40002, /Invalid cursor: the cursor is not base64url/],
    ['/topics/e/events?cursor=AQ', 400, 40002, /truncated or corrupt/],
    [`/topics/e/events?cursor=${ok}x`, 400, 40002, /truncated or corrupt|trailing/],
    ['/topics/e/events', 400, 40002, /Invalid Last-Event-ID/, { 'last-event-id': 'garbage!' }],
    [`/topics/f/events?cursor=${ok}`, 400, 40002, /another set of topics/],
    [`/topics/e/events?cursor=${encodeCursor(TopicSet.of(['e']), [[0, 0]])}`, 400, 40002, /names 2 partitions of 'e', which has 1/],
    [`/topics/e/events?cursor=${encodeCursor(TopicSet.of(['e']), [[9]])}`, 416, 41601, /past its high watermark 2/],
    ['/events?topics=e,f,g', 400, 40002, /at most 2 topics/],
    ['/events?topics=e,bad%20name', 400, 40003, /illegal/],
    ['/events', 400, 40002, /topics/],
    ['/topics/e/events?format=avro', 400, 40002, /format/],
    ['/topics/e/events?isolation.level=dirty', 400, 40002, /isolation/],
    ['/topics/e/events', 406, 40601, /text\/event-stream/, { accept: 'application/json' }],
  ];
  for (const [url, status, code, message, headers] of cases) {
    const res = await app.inject({ method: 'GET', url, headers: headers ?? { accept: 'text/event-stream' } });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/json/, url);
    const body = JSON.parse(res.body);
    assert.equal(body.error_code, code, `${url}: ${res.body}`);
    assert.match(body.message, message, url);
  }
});

test('too many streams from one client: 429 as JSON; a slot frees when a stream closes', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_MAX_STREAMS_PER_CLIENT: '2' });
  await live.produce('lim', [{ value: 1 }]);
  const a = await connectSse(live.base, '/topics/lim/events');
  const b = await connectSse(live.base, '/topics/lim/events');
  t.after(() => b.close());
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const c = await connectSse(live.base, '/topics/lim/events');
  assert.equal(c.status, 429);
  const body = JSON.parse(await c.body);
  assert.equal(body.error_code, 42901);
  assert.match(body.message, /already has 2 open event streams/);
  a.close();
  await eventually(() => live.hub.streamCount === 1, 'the closed stream to be released');
  const d = await connectSse(live.base, '/topics/lim/events');
  t.after(() => d.close());
  assert.equal(d.status, 200);
});
