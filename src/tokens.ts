/** Injection tokens. Only src/container.ts binds them; everything else receives them by @inject. */
export const TOKENS = {
  Config: Symbol.for('basket.Config'),
  Logger: Symbol.for('basket.Logger'),
  StorageEngine: Symbol.for('basket.StorageEngine'),
  ProduceService: Symbol.for('basket.ProduceService'),
  ReceiptStore: Symbol.for('basket.ReceiptStore'),
  IdempotentProducer: Symbol.for('basket.IdempotentProducer'),
  Lifecycle: Symbol.for('basket.Lifecycle'),
  EventStreamHub: Symbol.for('basket.EventStreamHub'),
  GroupCoordinator: Symbol.for('basket.GroupCoordinator'),
  ConsumerManager: Symbol.for('basket.ConsumerManager'),
  GroupAdmin: Symbol.for('basket.GroupAdmin'),
  TransactionCoordinator: Symbol.for('basket.TransactionCoordinator'),
  TransactionService: Symbol.for('basket.TransactionService'),
} as const;
