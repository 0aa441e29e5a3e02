import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../../errors';
import { ErrorSchema } from '../schemas';

/**
 * OpenAPI 3 from the route schemas: collected by @fastify/swagger's onRoute hook, so this plugin is
 * registered before any route. Served at /openapi.json, with Swagger UI at /docs; the same document
 * is committed as openapi/openapi.json and CI fails when it is stale.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    app.addSchema(ErrorSchema);
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Basket',
          version: opts.version,
          description:
            'HTTP message gateway with Kafka semantics. Errors are `{"error_code", "message"}`; codes:\n\n' +
            Object.entries(ERRORS).map(([name, e]) => `- \`${e.errorCode}\` (HTTP ${e.status}) ${name}: ${e.doc}`).join('\n'),
        },
        tags: [
          { name: 'produce', description: 'Write records' },
          { name: 'consume', description: 'Read records: stateless reads, consumer instances (Confluent v2), Server-Sent Events' },
          { name: 'groups', description: 'Consumer group admin' },
          { name: 'topics', description: 'Topic admin and partition offsets' },
          { name: 'cluster', description: 'Brokers' },
          { name: 'actuator', description: 'Health and info' },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'basket-openapi', fastify: '5.x' },
);
