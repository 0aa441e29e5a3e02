import { ApiError } from '../../../errors';
import type { ConsumerRecord, RecordHeader } from '../../../engine/storage-engine';
import type { EmbeddedFormat } from '../../media-types';
import { isJsonText } from './json-text';
import { JsonBytesWriter } from './json-bytes-writer';

export interface RenderedRecords {
  /** A JSON array of the first `count` records, UTF-8. */
  json: Buffer;
  count: number;
  /** Why record `count` could not be shown (a value that is not JSON in the json format). */
  error?: ApiError;
}

/**
 * A records response written as JSON bytes directly: the same document, field for field, as
 * JSON.stringify(records.map((r) => toWireRecord(format, r))), without building objects or strings
 * per record. In the json format a value's stored bytes are already JSON text: they are checked
 * (isJsonText) and copied, not parsed and serialized again. Stops at the first record it cannot
 * show, so the reader gets the records before it and its position stays on that record, as a Kafka
 * consumer stops on a record it cannot deserialize.
 */
export function renderRecords(format: EmbeddedFormat, records: readonly ConsumerRecord[]): RenderedRecords {
  const out = new JsonBytesWriter(Math.max(1024, records.length * 256));
  out.ascii('[');
  let topic: string | undefined;
  let prefix = Buffer.alloc(0);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as ConsumerRecord;
    if (format === 'json' && r.value !== null && !isJsonText(r.value)) {
      out.ascii(']');
      const error = new ApiError(
        'RECORD_CONVERSION',
        `Record ${r.topic}-${r.partition}@${r.offset} is not JSON; read it with a consumer of the binary or string format, or move past it with positions`,
      );
      return { json: out.bytes(), count: i, error };
    }
    if (r.topic !== topic) {
      topic = r.topic;
      prefix = Buffer.from(`{"topic":${JSON.stringify(topic)},"key":`, 'utf8');
    }
    if (i > 0) out.ascii(',');
    out.raw(prefix);
    key(out, format, r.key);
    out.ascii(',"value":');
    if (r.value === null) out.ascii('null');
    else if (format === 'json') out.raw(r.value);
    else if (format === 'binary') out.base64(r.value);
    else out.string(r.value);
    out.ascii(`,"partition":${r.partition},"offset":${r.offset},"timestamp":${r.timestamp},"headers":`);
    headers(out, format, r.headers);
    out.ascii('}');
  }
  out.ascii(']');
  return { json: out.bytes(), count: records.length };
}

/** As toWireRecord: in the json format a key holding a JSON object or array is shown as JSON, any other as text. */
function key(out: JsonBytesWriter, format: EmbeddedFormat, data: Buffer | null): void {
  if (data === null) out.ascii('null');
  else if (format === 'binary') out.base64(data);
  else if (format === 'json' && (data[0] === 0x7b || data[0] === 0x5b) && isJsonText(data)) out.raw(data);
  else out.string(data);
}

function headers(out: JsonBytesWriter, format: EmbeddedFormat, list: RecordHeader[]): void {
  if (list.length === 0) {
    out.ascii('[]');
    return;
  }
  out.ascii('[');
  list.forEach((h, i) => {
    out.text(`${i > 0 ? ',' : ''}{"key":${JSON.stringify(h.key)},"value":`);
    if (h.value === null) out.ascii('null');
    else if (format === 'binary') out.base64(h.value);
    else out.string(h.value);
    out.ascii('}');
  });
  out.ascii(']');
}
