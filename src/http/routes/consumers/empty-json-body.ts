import type { FastifyInstance } from 'fastify';

/**
 * Confluent's clients send `Content-Type: application/vnd.kafka.v2+json` with no body on DELETE and
 * on "commit what was consumed" (POST offsets), and its quick start does so with curl. Fastify's JSON
 * parser refuses an empty body; within the plugin that calls this (and only there), an empty body
 * parses as "no body" and anything else as JSON, with the same prototype-poisoning protection.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error') as (request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => void;
  app.removeAllContentTypeParsers();
  const parse = (request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    if (body.length === 0) done(null, undefined);
    else parseJson(request, body, done);
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parse);
  app.addContentTypeParser(/^application\/vnd\.kafka(\.[a-z]+)?\.v[23]\+json$/, { parseAs: 'string' }, parse);
}

/** Reads and parses a JSON body Fastify does not parse: Confluent's GET offsets carries one. */
export async function readGetBody(raw: NodeJS.ReadableStream, limit: number): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of raw) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > limit) throw Object.assign(new Error('Request body is too large'), { statusCode: 413 });
    chunks.push(b);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw Object.assign(new SyntaxError(`Body is not valid JSON: ${(err as Error).message}`), { statusCode: 400 });
  }
}
