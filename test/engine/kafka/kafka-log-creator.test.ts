import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { logLevel } from 'kafkajs';
import pino from 'pino';
import { kafkajsLogLevelFor, pinoLogCreator } from '../../../src/engine/kafka/kafka-log-creator';
import { KAFKA_ENGINE_DEFAULTS, resolveKafkaEngineOptions } from '../../../src/engine/kafka/kafka-engine-options';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

test('kafkajs entries reach pino at the mapped level, with namespace and extra fields', () => {
  const { logger, lines } = capture('debug');
  const log = pinoLogCreator(logger)(logLevel.DEBUG);
  const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) =>
    log({ namespace: 'Connection', level, label: 'x', log: { timestamp: '2024-01-01T00:00:00.000Z', logger: 'kafkajs', message, ...extra } });
  entry(logLevel.ERROR, 'Connection error', { broker: '127.0.0.1:9092', retryCount: 2 });
  entry(logLevel.WARN, 'slow');
  entry(logLevel.INFO, 'connected');
  entry(logLevel.DEBUG, 'request sent');
  entry(logLevel.NOTHING, 'never');
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [[50, 'Connection error'], [40, 'slow'], [30, 'connected'], [20, 'request sent']]);
  assert.equal(lines[0].kafkajs, 'Connection');
  assert.equal(lines[0].broker, '127.0.0.1:9092');
  assert.equal(lines[0].retryCount, 2);
  assert.equal(lines[0].timestamp, undefined, "kafkajs's own timestamp is dropped");
  assert.equal(lines[0].logger, undefined);
});

test("kafkajs's level follows pino's, so kafkajs does not build entries pino would drop", () => {
  assert.equal(kafkajsLogLevelFor(pino({ level: 'trace' })), logLevel.DEBUG);
  assert.equal(kafkajsLogLevelFor(pino({ level: 'debug' })), logLevel.DEBUG);
  assert.equal(kafkajsLogLevelFor(pino({ level: 'info' })), logLevel.INFO);
  assert.equal(kafkajsLogLevelFor(pino({ level: 'warn' })), logLevel.WARN);
  assert.equal(kafkajsLogLevelFor(pino({ level: 'error' })), logLevel.ERROR);
  assert.equal(kafkajsLogLevelFor(pino({ level: 'silent' })), logLevel.NOTHING);
});

test('engine options: defaults filled in, bad values named', () => {
  const resolved = resolveKafkaEngineOptions({ brokers: ['localhost:9092', '[::1]:9093'], retry: { retries: 0 } });
  assert.equal(resolved.clientId, KAFKA_ENGINE_DEFAULTS.clientId);
  assert.equal(resolved.fetchMaxWaitMs, 500);
  assert.deepEqual(resolved.retry, { retries: 0, initialRetryTime: 300, maxRetryTime: 30000 });
  assert.throws(() => resolveKafkaEngineOptions({ brokers: [] }), /at least one broker/);
  assert.throws(() => resolveKafkaEngineOptions({ brokers: ['no-port'] }), /'no-port' is not "host:port"/);
  assert.throws(() => resolveKafkaEngineOptions({ brokers: ['h:1'], requestTimeout: 0 }), /requestTimeout must be a positive integer/);
});
