import { join } from 'node:path';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import { TOKENS } from './tokens';
import type { BasketConfig } from './config/config-schema';
import type { StorageEngine } from './engine/storage-engine';
import { EmbeddedEngine } from './engine/embedded/embedded-engine';
import { KafkaEngine } from './engine/kafka/kafka-engine';
import { DefaultPartitioner } from './engine/partitioner';
import { ProduceService } from './produce/produce-service';
import { ReceiptStore } from './produce/receipts';
import { IDEMPOTENCY_DIR, IdempotencyKeyStore } from './produce/idempotency/idempotency-key-store';
import { IdempotentProducer } from './produce/idempotency/idempotent-producer';
import { Lifecycle } from './lifecycle';
import { EventStreamHub } from './sse/event-stream-hub';
import type { GroupCoordinator } from './coordinator/group/group-coordinator';
import { EmbeddedGroupCoordinator } from './coordinator/group/embedded-group-coordinator';
import { ConsumerManager } from './consumer/consumer-manager';
import { GroupAdmin } from './consumer/group-admin';
import { EmbeddedTransactionCoordinator } from './coordinator/transaction/embedded-transaction-coordinator';
import type { TransactionCoordinator } from './coordinator/transaction/transaction-coordinator';
import { TransactionService } from './transactions/transaction-service';

/**
 * The composition root: the only place that binds tokens to implementations. Everything is a
 * singleton of this container; tests make their own container (with their own config and data
 * directory) and may register overrides before resolving.
 */
export function createContainer(config: BasketConfig, logger: Logger): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(TOKENS.Config, { useValue: config });
  c.register(TOKENS.Logger, { useValue: logger });
  c.register(TOKENS.Lifecycle, { useValue: new Lifecycle() });
  c.register(TOKENS.StorageEngine, { useValue: createEngine(config, logger) });
  c.register(TOKENS.ProduceService, {
    useFactory: once((d) =>
      new ProduceService(
        d.resolve<StorageEngine>(TOKENS.StorageEngine),
        new DefaultPartitioner(),
        { autoCreateTopics: config.autoCreateTopics, numPartitions: config.numPartitions },
        logger.child({ component: 'produce' }),
      ),
    ),
  });
  c.register(TOKENS.ReceiptStore, {
    useFactory: once(() => new ReceiptStore({ ttlMs: config.produce.receiptTtlMs, maxReceipts: config.produce.maxReceipts })),
  });
  c.register(TOKENS.IdempotentProducer, {
    useFactory: once((d) => {
      const log = logger.child({ component: 'idempotency' });
      const store = new IdempotencyKeyStore(join(config.dataDir, IDEMPOTENCY_DIR), { ttlMs: config.produce.idempotencyKeyTtlMs, maxKeys: config.produce.maxIdempotencyKeys }, log);
      return new IdempotentProducer(d.resolve<ProduceService>(TOKENS.ProduceService), store, log);
    }),
  });
  c.register(TOKENS.EventStreamHub, {
    useFactory: once((d) =>
      new EventStreamHub(d.resolve<StorageEngine>(TOKENS.StorageEngine), config.sse, logger.child({ component: 'sse' })),
    ),
  });
  // Consumer groups run on the engine's group coordinator: the embedded one, or Kafka's own on the
  // kafka engine (KafkaGroupCoordinator); the consumer layer above it is the same for both.
  c.register(TOKENS.GroupCoordinator, {
    useFactory: once((d) => {
      const engine = d.resolve<StorageEngine>(TOKENS.StorageEngine);
      if (engine instanceof KafkaEngine) return engine.groupCoordinator({ sessionTimeoutMs: config.kafka.groupSessionTimeoutMs });
      return new EmbeddedGroupCoordinator(engine, { offsetsRetentionMs: config.consumer.offsetsRetentionMinutes * 60_000 }, logger.child({ component: 'group-coordinator' }));
    }),
  });
  c.register(TOKENS.ConsumerManager, {
    useFactory: once((d) =>
      new ConsumerManager(
        d.resolve<StorageEngine>(TOKENS.StorageEngine),
        d.resolve<GroupCoordinator>(TOKENS.GroupCoordinator),
        { instanceTimeoutMs: config.consumer.instanceTimeoutMs, maxPollTimeoutMs: config.maxPollTimeoutMs },
        logger.child({ component: 'consumers' }),
      ),
    ),
  });
  c.register(TOKENS.GroupAdmin, {
    useFactory: once((d) => new GroupAdmin(d.resolve<StorageEngine>(TOKENS.StorageEngine), d.resolve<GroupCoordinator>(TOKENS.GroupCoordinator))),
  });
  // Transactions run on the engine's transaction coordinator: the embedded one, or Kafka's own on the
  // kafka engine (KafkaTransactionCoordinator), which answers 501 on a cluster that cannot write markers.
  c.register(TOKENS.TransactionCoordinator, {
    useFactory: once((d) => {
      const engine = d.resolve<StorageEngine>(TOKENS.StorageEngine);
      const timeouts = { defaultTimeoutMs: config.transaction.defaultTimeoutMs, maxTimeoutMs: config.transaction.maxTimeoutMs };
      if (engine instanceof KafkaEngine) return engine.transactionCoordinator(timeouts);
      const groups = d.isRegistered(TOKENS.GroupCoordinator) ? d.resolve<GroupCoordinator>(TOKENS.GroupCoordinator) : undefined;
      return new EmbeddedTransactionCoordinator(
        engine,
        groups instanceof EmbeddedGroupCoordinator ? groups : undefined,
        timeouts,
        logger.child({ component: 'transaction-coordinator' }),
      );
    }),
  });
  c.register(TOKENS.TransactionService, {
    useFactory: once((d) =>
      new TransactionService(
        d.resolve<StorageEngine>(TOKENS.StorageEngine),
        d.resolve<TransactionCoordinator>(TOKENS.TransactionCoordinator),
        d.resolve<ProduceService>(TOKENS.ProduceService),
        logger.child({ component: 'transactions' }),
      ),
    ),
  });
  return c;
}

function createEngine(config: BasketConfig, logger: Logger): StorageEngine {
  switch (config.engine) {
    case 'embedded':
      return new EmbeddedEngine(
        {
          dataDir: config.dataDir,
          defaultPartitions: config.numPartitions,
          retentionCheckIntervalMs: config.retentionCheckIntervalMs,
          advertisedHost: config.host,
          advertisedPort: config.port,
          callerProducerIdExpirationMs: config.produce.idempotencyKeyTtlMs,
        },
        logger.child({ component: 'embedded-engine' }),
      );
    case 'kafka': {
      const k = config.kafka;
      return new KafkaEngine(
        {
          brokers: k.brokers,
          clientId: k.clientId,
          ssl: k.ssl,
          ...(k.saslMechanism === 'none' ? {} : { sasl: { mechanism: k.saslMechanism, username: k.saslUsername, password: k.saslPassword } }),
          connectionTimeout: k.connectionTimeoutMs,
          requestTimeout: k.requestTimeoutMs,
        },
        logger.child({ component: 'kafka-engine' }),
      );
    }
  }
}

/** A factory that builds its value once per container (tsyringe's instanceCachingFactory, typed). */
function once<T>(factory: (c: DependencyContainer) => T): (c: DependencyContainer) => T {
  let value: T | undefined;
  return (c) => (value ??= factory(c));
}
