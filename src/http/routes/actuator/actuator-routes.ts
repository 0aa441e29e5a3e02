import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { StorageEngine } from '../../../engine/storage-engine';
import type { Lifecycle } from '../../../lifecycle';

const Health = Type.Object({
  status: Type.Union([Type.Literal('UP'), Type.Literal('DOWN')]),
  components: Type.Optional(Type.Record(Type.String(), Type.Object({ status: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }))),
});

export interface ActuatorRoutesOptions {
  engine: StorageEngine;
  lifecycle: Lifecycle;
  version: string;
}

/**
 * Spring Boot Actuator conventions: /actuator/health (with liveness and readiness groups) and
 * /actuator/info. DOWN answers 503, so load balancers and Kubernetes probes can act on the status.
 */
export const actuatorRoutes: FastifyPluginAsyncTypebox<ActuatorRoutesOptions> = async (app, { engine, lifecycle, version }) => {
  const schema = (summary: string) => ({ tags: ['actuator'], summary, response: { 200: Health, 503: Health } });

  const readiness = () => {
    const e = engine.health();
    const lifecycleStatus = lifecycle.shuttingDown ? 'DOWN' : 'UP';
    const status: 'UP' | 'DOWN' = e.status === 'UP' && lifecycleStatus === 'UP' ? 'UP' : 'DOWN';
    return {
      status,
      components: {
        engine: { status: e.status, details: { name: engine.name, ...e.details } },
        lifecycle: { status: lifecycleStatus, details: { shuttingDown: lifecycle.shuttingDown } },
      },
    };
  };

  app.get('/actuator/health', { schema: schema('Overall health') }, async (_req, reply) => {
    const body = readiness();
    return reply.status(body.status === 'UP' ? 200 : 503).send(body);
  });

  app.get('/actuator/health/liveness', { schema: schema('Liveness: the process answers') }, async () => ({ status: 'UP' as const }));

  app.get('/actuator/health/readiness', { schema: schema('Readiness: the engine is up and the server is not shutting down') }, async (_req, reply) => {
    const body = readiness();
    return reply.status(body.status === 'UP' ? 200 : 503).send(body);
  });

  app.get('/actuator/info', {
    schema: {
      tags: ['actuator'],
      summary: 'Build and runtime information',
      response: { 200: Type.Object({ app: Type.Object({ name: Type.String(), version: Type.String() }), engine: Type.String(), node: Type.String(), uptime_ms: Type.Integer() }) },
    },
  }, async () => ({ app: { name: 'basket', version }, engine: engine.name, node: process.version, uptime_ms: Date.now() - lifecycle.startedAt }));
};
