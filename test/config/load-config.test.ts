import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load-config';
import { MAX_CALLER_PRODUCERS } from '../../src/engine/embedded/producer-state-manager';

function dir(t: import('node:test').TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'basket-config-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('defaults as documented', (t) => {
  const c = loadConfig({ env: {}, configDir: dir(t) });
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.engine, 'embedded');
  assert.equal(c.dataDir, './data');
  assert.equal(c.defaultAcks, 'all');
  assert.equal(c.autoCreateTopics, true);
  assert.equal(c.numPartitions, 1);
  assert.deepEqual(c.kafka.brokers, ['localhost:9092']);
  assert.equal(c.kafka.groupSessionTimeoutMs, 10000);
});

test('application.yaml, a profile overlay, then the environment', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'application.yaml'), 'server:\n  port: 9000\nbasket:\n  num-partitions: 3\n  kafka:\n    brokers: [a:1, b:2]\n');
  writeFileSync(join(d, 'application-prod.yaml'), 'server:\n  port: 9100\nlogging:\n  level: warn\n');
  const c = loadConfig({ env: { BASKET_PROFILES: 'prod', BASKET_NUM_PARTITIONS: '4' }, configDir: d });
  assert.equal(c.port, 9100);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.numPartitions, 4);
  assert.deepEqual(c.kafka.brokers, ['a:1', 'b:2']);
  const env = loadConfig({ env: { BASKET_KAFKA_BROKERS: 'x:1, y:2' }, configDir: d });
  assert.deepEqual(env.kafka.brokers, ['x:1', 'y:2']);
});

test('a bad value stops start-up with a message naming the setting', (t) => {
  const d = dir(t);
  assert.throws(() => loadConfig({ env: { PORT: 'eighty' }, configDir: d }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
  assert.throws(() => loadConfig({ env: { PORT: '70000' }, configDir: d }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
  assert.throws(() => loadConfig({ env: { BASKET_ENGINE: 'mongo' }, configDir: d }), (e: Error) => e instanceof ConfigError && /BASKET_ENGINE/.test(e.message));
  assert.throws(() => loadConfig({ env: { LOG_LEVEL: 'loud' }, configDir: d }), (e: Error) => /LOG_LEVEL/.test(e.message));
  assert.throws(() => loadConfig({ env: { BASKET_KAFKA_GROUP_SESSION_TIMEOUT_MS: '500' }, configDir: d }), (e: Error) => /BASKET_KAFKA_GROUP_SESSION_TIMEOUT_MS/.test(e.message));
  // more keys than a partition remembers key producers could let a forgotten pending key append again
  assert.throws(() => loadConfig({ env: { BASKET_MAX_IDEMPOTENCY_KEYS: String(MAX_CALLER_PRODUCERS + 1) }, configDir: d }), (e: Error) => e instanceof ConfigError && /BASKET_MAX_IDEMPOTENCY_KEYS/.test(e.message));
  assert.equal(loadConfig({ env: { BASKET_MAX_IDEMPOTENCY_KEYS: String(MAX_CALLER_PRODUCERS) }, configDir: d }).produce.maxIdempotencyKeys, MAX_CALLER_PRODUCERS);
  writeFileSync(join(d, 'application.yaml'), 'basket:\n  engine: nope\n');
  assert.throws(() => loadConfig({ env: {}, configDir: d }), (e: Error) => /application\.yaml basket\.engine/.test(e.message));
  writeFileSync(join(d, 'application.yaml'), 'server: [unclosed\n');
  assert.throws(() => loadConfig({ env: {}, configDir: d }), (e: Error) => /Cannot parse/.test(e.message));
});
