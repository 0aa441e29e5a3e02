import type { ProduceOutcome } from '../../../produce/produce-service';

/**
 * The 200 answer of a produce request as JSON text, written directly: the same text
 * JSON.stringify gives for `{offsets: [{partition, offset, timestamp, error_code: null,
 * error: null}, ...], key_schema_id: null, value_schema_id: null}` (the Confluent REST Proxy v2
 * shape), without an object per record. Every field is an integer, so nothing needs escaping.
 */
export function produceResponseJson(outcomes: readonly ProduceOutcome[]): string {
  let json = '{"offsets":[';
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    json += `${i === 0 ? '' : ','}{"partition":${o.partition},"offset":${o.offset},"timestamp":${o.timestamp},"error_code":null,"error":null}`;
  }
  return `${json}],"key_schema_id":null,"value_schema_id":null}`;
}
