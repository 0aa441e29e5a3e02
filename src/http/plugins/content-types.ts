import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * Request bodies: plain JSON and the Kafka REST v2 media types, all parsed as JSON with Fastify's
 * own prototype-poisoning-safe parser. Anything else is refused by Fastify with 415 (41501).
 */
export const contentTypesPlugin = fp(
  async (app: FastifyInstance) => {
    // Fastify parses text/plain by default; produce bodies are JSON only, so it answers 415 here.
    app.removeContentTypeParser('text/plain');
    const parse = app.getDefaultJsonParser('error', 'error');
    app.addContentTypeParser(/^application\/vnd\.kafka(\.[a-z]+)?\.v[23]\+json$/, { parseAs: 'string' }, parse);
  },
  { name: 'basket-content-types', fastify: '5.x' },
);
