import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../helper';
import { connectSse } from '../sse/sse-client';
import { listenTestApp } from '../sse/live-app';

const APP = 'http://app.example.com';

test('CORS: an allowed origin may open an event stream; its preflight is answered; others get no CORS headers', async (t) => {
  const live = await listenTestApp(t, { BASKET_CORS_ALLOWED_ORIGINS: `${APP}, http://other.example.com` });
  await live.produce('c', [{ value: 1 }]);
  const conn = await connectSse(live.base, '/topics/c/events', { origin: APP });
  t.after(() => conn.close());
  assert.equal(conn.status, 200);
  assert.equal(conn.headers['access-control-allow-origin'], APP);
  assert.equal(conn.headers['access-control-allow-credentials'], 'true');
  assert.match(String(conn.headers.vary), /Origin/);

  const preflight = await live.app.inject({
    method: 'OPTIONS',
    url: '/topics/c/events',
    headers: { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' },
  });
  assert.equal(preflight.statusCode, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], APP);
  assert.match(String(preflight.headers['access-control-allow-methods']), /GET/);
  assert.equal(preflight.headers['access-control-allow-headers'], 'last-event-id');

  const stranger = await live.app.inject({ method: 'GET', url: '/topics', headers: { origin: 'http://evil.example.com' } });
  assert.equal(stranger.statusCode, 200);
  assert.equal(stranger.headers['access-control-allow-origin'], undefined);
  const strangerPreflight = await live.app.inject({
    method: 'OPTIONS',
    url: '/topics/c/events',
    headers: { origin: 'http://evil.example.com', 'access-control-request-method': 'GET' },
  });
  assert.notEqual(strangerPreflight.statusCode, 204);
  assert.equal(strangerPreflight.headers['access-control-allow-origin'], undefined);

  const jsonRoute = await post(live.app, '/topics/c', { records: [{ value: 2 }] }, undefined, { origin: APP });
  assert.equal(jsonRoute.status, 200);
  assert.equal(jsonRoute.headers['access-control-allow-origin'], APP);
});

test("CORS: '*' allows any origin without credentials; no list, no CORS headers", async (t) => {
  const open = await buildTestApp(t, { BASKET_CORS_ALLOWED_ORIGINS: '*' });
  const any = await open.app.inject({ method: 'GET', url: '/topics', headers: { origin: 'http://anywhere.example' } });
  assert.equal(any.headers['access-control-allow-origin'], 'http://anywhere.example');
  assert.equal(any.headers['access-control-allow-credentials'], undefined);

  const closed = await buildTestApp(t);
  const none = await closed.app.inject({ method: 'GET', url: '/topics', headers: { origin: 'http://anywhere.example' } });
  assert.equal(none.headers['access-control-allow-origin'], undefined);
});
