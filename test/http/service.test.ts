import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestApp, get } from '../helper';
import { ERRORS } from '../../src/errors';
import { TOKENS } from '../../src/tokens';

test('unknown routes and methods are 404 with error_code 40404, as JSON', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await get(app, '/no/such/thing');
  assert.equal(res.status, 404);
  assert.equal(res.body.error_code, 40404);
  assert.match(res.headers['content-type'] as string, /application\/json/);
});

test('actuator health, liveness, readiness and info', async (t) => {
  const { app } = await buildTestApp(t);
  const health = await get(app, '/actuator/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'UP');
  assert.equal(health.body.components.engine.status, 'UP');
  assert.equal((await get(app, '/actuator/health/liveness')).body.status, 'UP');
  assert.equal((await get(app, '/actuator/health/readiness')).status, 200);
  const info = await get(app, '/actuator/info');
  assert.equal(info.body.app.name, 'basket');
  assert.equal(info.body.engine, 'embedded');
});

test('readiness turns DOWN (503) once shutdown begins', async (t) => {
  const { app, container } = await buildTestApp(t);
  container.resolve<{ beginShutdown(): void }>(TOKENS.Lifecycle).beginShutdown();
  const res = await get(app, '/actuator/health/readiness');
  assert.equal(res.status, 503);
  assert.equal(res.body.status, 'DOWN');
});

test('the OpenAPI document is served, lists every route, and every error code is documented', async (t) => {
  const { app } = await buildTestApp(t);
  const spec = (await get(app, '/openapi.json')).body;
  assert.equal(spec.openapi, '3.0.3');
  for (const path of ['/topics', '/topics/{topic}', '/topics/{topic}/partitions/{partition}', '/topics/{topic}/partitions/{partition}/records', '/topics/{topic}/partitions/{partition}/offsets', '/brokers', '/actuator/health']) {
    assert.ok(spec.paths[path] !== undefined, path);
  }
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  for (const [name, e] of Object.entries(ERRORS)) {
    assert.ok(spec.info.description.includes(`\`${e.errorCode}\``), `${name} in the OpenAPI description`);
    assert.ok(readme.includes(`| ${e.errorCode} |`), `${name} (${e.errorCode}) in the README error table`);
  }
});

test('BASKET_TRUST_PROXY: consumer base_uri follows X-Forwarded-Proto/-Host only when the proxy is trusted', async (t) => {
  const forwarded = { 'content-type': 'application/vnd.kafka.v2+json', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'basket.example.org', host: 'internal:8080' };
  const trusted = await buildTestApp(t, { BASKET_TRUST_PROXY: 'true' });
  const a = await trusted.app.inject({ method: 'POST', url: '/consumers/g', headers: forwarded, payload: { name: 'i1' } });
  assert.equal(a.statusCode, 200, a.body);
  assert.equal(a.json().base_uri, 'https://basket.example.org/consumers/g/instances/i1');
  const direct = await buildTestApp(t);
  const b = await direct.app.inject({ method: 'POST', url: '/consumers/g', headers: forwarded, payload: { name: 'i1' } });
  assert.equal(b.json().base_uri, 'http://internal:8080/consumers/g/instances/i1');
});
