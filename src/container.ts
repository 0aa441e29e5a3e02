import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import { TOKENS } from './tokens';
import type { BasketConfig } from './config/config-schema';
import type { StorageEngine } from './engine/storage-engine';
import { EmbeddedEngine } from './engine/embedded/embedded-engine';
import { KafkaEngine } from './engine/kafka/kafka-engine';
import { DefaultPartitioner } from './engine/partitioner';
import { ProduceService } from './produce/produce-service';
import { Lifecycle } from './lifecycle';
import { EventStreamHub } from './sse/event-stream-hub';

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
  c.register(TOKENS.EventStreamHub, {
    useFactory: once((d) =>
      new EventStreamHub(d.resolve<StorageEngine>(TOKENS.StorageEngine), config.sse, logger.child({ component: 'sse' })),
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
