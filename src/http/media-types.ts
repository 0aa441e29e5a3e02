import { ApiError } from '../errors';

/**
 * The embedded formats of the Confluent REST Proxy v2: how keys and values travel in JSON bodies.
 *   json   - any JSON value (application/vnd.kafka.json.v2+json, and plain application/json)
 *   binary - base64 strings (application/vnd.kafka.binary.v2+json)
 *   string - strings as they are (application/vnd.kafka.string.v2+json)
 * The schema formats (avro, jsonschema, protobuf) need a schema registry and are refused with 415.
 */
export type EmbeddedFormat = 'json' | 'binary' | 'string';

export const MEDIA_TYPES = {
  json: 'application/vnd.kafka.json.v2+json',
  binary: 'application/vnd.kafka.binary.v2+json',
  string: 'application/vnd.kafka.string.v2+json',
  v2: 'application/vnd.kafka.v2+json',
  plainJson: 'application/json',
} as const;

const VND = /^application\/vnd\.kafka(?:\.([a-z]+))?\.v2\+json$/;

/** The embedded format named by a Content-Type (or one Accept entry); undefined if not ours. */
export function formatOfMediaType(mediaType: string | undefined): EmbeddedFormat | 'schema' | undefined {
  if (mediaType === undefined) return undefined;
  const essence = (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  if (essence === MEDIA_TYPES.plainJson) return 'json';
  const m = VND.exec(essence);
  if (m === null) return undefined;
  const name = m[1];
  if (name === undefined || name === 'json') return 'json';
  if (name === 'binary' || name === 'string') return name;
  return 'schema';
}

/**
 * The embedded format of a request body, from its Content-Type; 415 (41501) for a schema format
 * (it needs a schema registry) or any other type.
 */
export function bodyFormat(contentType: string | undefined): EmbeddedFormat {
  const format = formatOfMediaType(contentType);
  if (format === 'schema') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content type '${contentType}' needs a schema registry; use the json, binary or string format`);
  }
  if (format === undefined) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Unsupported content type '${contentType ?? ''}'; use the json, binary or string format`);
  return format;
}

/**
 * The format a read should answer in, from the Accept header: the first entry that names an
 * embedded format; json when the header is absent or only wildcards / plain JSON.
 */
export function formatFromAccept(accept: string | undefined): EmbeddedFormat | 'schema' | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  for (const entry of accept.split(',')) {
    const essence = (entry.split(';')[0] ?? '').trim().toLowerCase();
    if (essence === '*/*' || essence === 'application/*') return 'json';
    const format = formatOfMediaType(essence);
    if (format !== undefined) return format;
  }
  return undefined;
}
