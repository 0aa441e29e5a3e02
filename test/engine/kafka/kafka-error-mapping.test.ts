import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSOffsetOutOfRange,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSServerDoesNotSupportApiKey,
} from 'kafkajs';
import { EngineError } from '../../../src/engine/engine-error';
import { toEngineError } from '../../../src/engine/kafka/kafka-error-mapping';

/** kafkajs builds protocol errors from this shape (its protocol/error.js table). */
const protocol = (type: string, code: number, retriable: boolean, message = `${type} happened`) =>
  new KafkaJSProtocolError({ type, code, retriable, message } as unknown as string);

test('protocol errors keep their Kafka name as the code, and kafkajs retriable flag', () => {
  const cases: Array<[string, number, boolean, string]> = [
    ['UNKNOWN_TOPIC_OR_PARTITION', 3, true, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['TOPIC_ALREADY_EXISTS', 36, false, 'TOPIC_ALREADY_EXISTS'],
    ['INVALID_PARTITIONS', 37, false, 'INVALID_PARTITIONS'],
    ['INVALID_CONFIG', 40, false, 'INVALID_CONFIG'],
    ['LEADER_NOT_AVAILABLE', 5, true, 'LEADER_NOT_AVAILABLE'],
    ['NOT_LEADER_FOR_PARTITION', 6, true, 'NOT_LEADER_OR_FOLLOWER'],
    ['MESSAGE_TOO_LARGE', 10, false, 'RECORD_TOO_LARGE'],
    ['INVALID_TIMESTAMP', 32, false, 'INVALID_RECORD'],
    ['TOPIC_AUTHORIZATION_FAILED', 29, false, 'TOPIC_AUTHORIZATION_FAILED'],
    ['KAFKA_STORAGE_ERROR', 56, true, 'KAFKA_STORAGE_ERROR'],
  ];
  for (const [type, code, retriable, expected] of cases) {
    const cause = protocol(type, code, retriable);
    const mapped = toEngineError(cause, 'ctx');
    assert.equal(mapped.code, expected, type);
    assert.equal(mapped.retriable, retriable, `${type} retriable`);
    assert.equal(mapped.cause, cause, 'the kafkajs error is kept as cause');
    assert.equal(mapped.message, `ctx: ${type} happened`);
  }
});

test('a Kafka error without a Basket code keeps its name in the message', () => {
  const mapped = toEngineError(protocol('NOT_ENOUGH_REPLICAS', 19, true, 'too few in sync'));
  assert.equal(mapped.code, 'UNKNOWN_SERVER_ERROR');
  assert.equal(mapped.retriable, true);
  assert.match(mapped.message, /^NOT_ENOUGH_REPLICAS: too few in sync$/);
});

test('client-side failures map by class', () => {
  const conn = toEngineError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { broker: 'b:1' }));
  assert.deepEqual([conn.code, conn.retriable], ['BROKER_NOT_AVAILABLE', true]);
  const timeout = toEngineError(new KafkaJSRequestTimeoutError('Request Fetch(key: 1, version: 11) timed out', {} as never));
  assert.deepEqual([timeout.code, timeout.retriable], ['REQUEST_TIMED_OUT', true]);
  const unsupported = toEngineError(new KafkaJSServerDoesNotSupportApiKey('not supported', { apiKey: 19, apiName: 'CreateTopics' }));
  assert.deepEqual([unsupported.code, unsupported.retriable], ['UNSUPPORTED_VERSION', false]);
  const oor = toEngineError(new KafkaJSOffsetOutOfRange(protocol('OFFSET_OUT_OF_RANGE', 1, false), { topic: 't', partition: 0 }));
  assert.equal(oor.code, 'OFFSET_OUT_OF_RANGE');
});

test('after kafkajs gave up retrying, the last error decides code and retriable', () => {
  const last = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9');
  const exhausted = new KafkaJSNumberOfRetriesExceeded(last, { retryCount: 5, retryTime: 3000 });
  assert.equal(exhausted.retriable, false, 'kafkajs marks the exhausted error non-retriable');
  const mapped = toEngineError(exhausted, 'append to t-0');
  assert.equal(mapped.code, 'BROKER_NOT_AVAILABLE');
  assert.equal(mapped.retriable, true);
  assert.equal(mapped.cause, exhausted);
  assert.match(mapped.message, /^append to t-0: Connection error: .*\(gave up after retries\)$/);
});

test('aggregate errors map by their first error; EngineErrors pass through; anything else is UNKNOWN_SERVER_ERROR', () => {
  const aggregate = new KafkaJSAggregateError('Topic creation errors', [protocol('TOPIC_ALREADY_EXISTS', 36, false), protocol('INVALID_CONFIG', 40, false)]);
  assert.equal(toEngineError(aggregate).code, 'TOPIC_ALREADY_EXISTS');
  const own = new EngineError('INVALID_PARTITIONS', 'mine');
  assert.equal(toEngineError(own, 'ctx'), own);
  const plain = toEngineError(new TypeError('boom'));
  assert.deepEqual([plain.code, plain.retriable], ['UNKNOWN_SERVER_ERROR', false]);
  const nonRetriable = toEngineError(new KafkaJSNonRetriableError('Invalid topics array'));
  assert.deepEqual([nonRetriable.code, nonRetriable.retriable], ['UNKNOWN_SERVER_ERROR', false]);
  assert.equal(toEngineError('a string').code, 'UNKNOWN_SERVER_ERROR');
});
