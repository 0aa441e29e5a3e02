import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import { TOKENS } from './tokens';
import type { BasketConfig } from './config/config-schema';
import type { StorageEngine } from './engine/storage-engine';
import type { ProduceService } from './produce/produce-service';
import type { Lifecycle } from './lifecycle';
import { parseAcks } from './http/acks';
import { errorHandlerPlugin } from './http/plugins/error-handler';
import { contentTypesPlugin } from './http/plugins/content-types';
import { openapiPlugin } from './http/plugins/openapi';
import { corsPlugin } from './http/plugins/cors';
import { eventRoutes } from './http/routes/events/event-routes';
import type { EventStreamHub } from './sse/event-stream-hub';
import { produceRoutes } from './http/routes/produce/produce-routes';
import { receiptRoutes } from './http/routes/receipts/receipt-routes';
import type { ReceiptStore } from './produce/receipts';
import type { IdempotentProducer } from './produce/idempotency/idempotent-producer';
import { topicRoutes } from './http/routes/topics/topic-routes';
import { recordRoutes } from './http/routes/records/record-routes';
import { actuatorRoutes } from './http/routes/actuator/actuator-routes';
import { consumerRoutes } from './http/routes/consumers/consumer-routes';
import { groupRoutes } from './http/routes/groups/group-routes';
import type { ConsumerManager } from './consumer/consumer-manager';
import type { GroupAdmin } from './consumer/group-admin';
import type { GroupCoordinator } from './coordinator/group/group-coordinator';
import { VERSION } from './version';
import { transactionRoutes } from './http/routes/transactions/transaction-routes';
import type { TransactionService } from './transactions/transaction-service';

/**
 * Builds the Fastify app from a container: plugins first (errors, content types, OpenAPI, which
 * must see every route), then one plugin per route group. Never listens: main.ts does, and tests
 * use inject() or listen themselves.
 */
export async function buildApp(container: DependencyContainer): Promise<FastifyInstance> {
  const config = container.resolve<BasketConfig>(TOKENS.Config);
  const logger = container.resolve<Logger>(TOKENS.Logger);
  const engine = container.resolve<StorageEngine>(TOKENS.StorageEngine);
  const lifecycle = container.resolve<Lifecycle>(TOKENS.Lifecycle);

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // per-request log lines cost throughput on the produce path; errors are logged by the error handler
    logController: new LogController({ disableRequestLogging: true }),
    // topic names may be 249 characters, percent-encoded in paths
    routerOptions: { maxParamLength: 1024 },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(errorHandlerPlugin);
  await app.register(contentTypesPlugin);
  await app.register(openapiPlugin, { version: VERSION });
  await app.register(corsPlugin, { allowedOrigins: config.cors.allowedOrigins });

  const receipts = container.resolve<ReceiptStore>(TOKENS.ReceiptStore);
  const idempotent = container.resolve<IdempotentProducer>(TOKENS.IdempotentProducer);
  await app.register(produceRoutes, {
    produceService: container.resolve<ProduceService>(TOKENS.ProduceService),
    defaultAcks: parseAcks(config.defaultAcks, -1),
    receipts,
    idempotent,
  });
  await app.register(receiptRoutes, { receipts, keyed: idempotent, maxWaitMs: config.maxPollTimeoutMs });
  await app.register(topicRoutes, { engine, numPartitions: config.numPartitions });
  await app.register(recordRoutes, { engine, maxPollTimeoutMs: config.maxPollTimeoutMs, shutdownSignal: lifecycle.shutdownSignal });
  await app.register(actuatorRoutes, { engine, lifecycle, version: VERSION });
  await app.register(eventRoutes, {
    engine,
    hub: container.resolve<EventStreamHub>(TOKENS.EventStreamHub),
    coordinator: container.isRegistered(TOKENS.GroupCoordinator) ? container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator) : undefined,
  });
  if (container.isRegistered(TOKENS.GroupCoordinator)) {
    await app.register(consumerRoutes, {
      consumers: container.resolve<ConsumerManager>(TOKENS.ConsumerManager),
      coordinator: container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator),
      maxPollTimeoutMs: config.maxPollTimeoutMs,
      shutdownSignal: lifecycle.shutdownSignal,
    });
    await app.register(groupRoutes, { admin: container.resolve<GroupAdmin>(TOKENS.GroupAdmin) });
  }
  await app.register(transactionRoutes, { transactions: container.resolve<TransactionService>(TOKENS.TransactionService) });
  return app as unknown as FastifyInstance;
}
