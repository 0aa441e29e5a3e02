import { afterEach, beforeEach, describe, test, type TestContext } from 'node:test';
import type { StorageEngine } from '../../src/engine/storage-engine';
import { defineAdminTests } from './admin-tests';
import { defineFetchTests } from './fetch-tests';
import { defineOffsetTests } from './offset-tests';
import { defineProduceTests } from './produce-tests';
import { defineProducerIdentityTests } from './producer-identity-tests';
import { defineTransactionTests } from './transaction-tests';
import { defineTransactionCoordinatorTests } from './transaction-coordinator-tests';
import { defineGroupTests } from './group-tests';
import { defineGroupAdminTests } from './group-admin-tests';
import { SuiteGroups } from './group-helpers';
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator';
import type { TransactionCoordinator } from '../../src/coordinator/transaction/transaction-coordinator';

/**
 * The engine compliance suite: one set of behaviours every StorageEngine must show, written once
 * and run against each engine (test/engine-suite/<engine>.test.ts), as NATS runs its store tests
 * against both stores. What an engine (or the cluster a test runs it on) cannot do is declared as
 * a capability; a test that needs a missing one is reported as skipped with the capability's name,
 * never dropped silently.
 */
export interface EngineCapabilities {
  /** createTopic, createPartitions, deleteTopic and alterTopicConfigs work. */
  topicAdmin: boolean;
  /** describeTopic reports the topic's effective configs. */
  topicConfigs: boolean;
  /** listOffset with { timestamp } finds the first record at or after it. */
  offsetsByTimestamp: boolean;
  /** An acks=0 append still reports the offsets it got. */
  acksZeroOffsets: boolean;
  /** Headers with a null value are stored and read back. */
  nullHeaderValues: boolean;
  /** AppendResult.timestamp is the batch's max CreateTime (CreateTime topics). */
  appendTimestamp: boolean;
  /** A batch larger than max.message.bytes is refused with RECORD_TOO_LARGE. */
  maxMessageBytes: boolean;
  /**
   * The engine's own WriteTxnMarkers and AllocateProducerIds: transactional appends, control markers,
   * the last stable offset and read_committed through the StorageEngine contract alone. Kafka keeps
   * WriteTxnMarkers between its brokers, so only an engine that is its own broker has it.
   */
  transactions: boolean;
  /** Transactions through the engine's transaction coordinator: begin, add partitions, transactional appends, commit, abort, fencing of an older session. */
  coordinatedTransactions: boolean;
  /**
   * The coordinator's commit and abort reach the partitions (markers written, the producer's epoch
   * fenced there): read_committed holds back open records and drops aborted ones, and a fenced
   * session's late append is refused by the partition.
   */
  transactionMarkers: boolean;
  /**
   * A member's commit under its generation is accepted while the group prepares a rebalance, so
   * eager rebalancing commits before partitions move (Kafka's onPartitionsRevoked commit).
   */
  commitDuringRebalance: boolean;
  /** The group coordinator describes, lists and deletes groups. */
  groupAdmin: boolean;
  /** A consumer outside group management (member '', generation -1) may commit while the group has no members. */
  memberlessCommits: boolean;
  /** fetchOffsets without partitions returns every partition the group committed. */
  offsetFetchAll: boolean;
  /**
   * A repeat of one of a producer's last batches in a partition (same producer id, epoch and
   * sequences) is answered with the first append's offsets and not stored again, also for an id
   * the caller chose (StorageEngine.honoursCallerProducerIds).
   */
  producerDedup: boolean;
}

export type Capability = keyof EngineCapabilities;

export interface EngineUnderTest {
  engine: StorageEngine;
  /** Creates a topic by whatever means the environment has (the engine, or the test cluster). */
  createTopic(name: string, partitions: number): Promise<void>;
  /** A new (not started) group coordinator of the engine; the suite starts and closes it. */
  groupCoordinator(): GroupCoordinator;
  /** A new (not started) transaction coordinator of the engine, where it has one; the test starts and closes it. */
  transactionCoordinator?(): TransactionCoordinator;
  cleanup(): Promise<void>;
}

export type EngineFactory = () => Promise<EngineUnderTest>;

/** What each group of tests receives. */
export interface SuiteContext {
  /** The engine of the running test (a fresh one per test). */
  readonly current: EngineUnderTest;
  /** Group coordinators and consumer instances of the running test, closed after it. */
  readonly groups: SuiteGroups;
  /** A topic name unique to this suite run. */
  topicName(prefix: string): string;
  /** Declares a test that needs capabilities; it is skipped, naming them, where they are missing. */
  it(name: string, requires: Capability[], fn: (t: TestContext) => Promise<void>): void;
}

/** Generous bound for one test; a hung long poll or request fails the test instead of the run. */
export const TEST_TIMEOUT_MS = 20_000;

export function defineEngineSuite(name: string, factory: EngineFactory, capabilities: EngineCapabilities): void {
  describe(`engine compliance: ${name}`, () => {
    let current: EngineUnderTest | undefined;
    let groups: SuiteGroups | undefined;
    let counter = 0;
    const ctx: SuiteContext = {
      get current(): EngineUnderTest {
        if (current === undefined) throw new Error('no engine: the factory failed');
        return current;
      },
      get groups(): SuiteGroups {
        groups ??= new SuiteGroups(
          () => ctx.current.engine,
          () => ctx.current.groupCoordinator(),
        );
        return groups;
      },
      topicName: (prefix) => `${prefix}-${process.pid}-${++counter}`,
      it(testName, requires, fn) {
        const missing = requires.filter((c) => !capabilities[c]);
        if (missing.length > 0) {
          test(testName, { skip: `engine lacks capability: ${missing.join(', ')}` }, () => undefined);
          return;
        }
        test(testName, { timeout: TEST_TIMEOUT_MS }, fn);
      },
    };

    beforeEach(async () => {
      current = await factory();
    });
    afterEach(async () => {
      const done = current;
      const groupsDone = groups;
      current = undefined;
      groups = undefined;
      try {
        await groupsDone?.close();
      } finally {
        await done?.cleanup();
      }
    });

    defineProduceTests(ctx);
    defineProducerIdentityTests(ctx);
    defineFetchTests(ctx);
    defineOffsetTests(ctx);
    defineAdminTests(ctx);
    defineTransactionTests(ctx);
    defineTransactionCoordinatorTests(ctx);
    defineGroupTests(ctx);
    defineGroupAdminTests(ctx);
  });
}
