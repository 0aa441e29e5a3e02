/**
 * The one place that reaches below kafkajs's public API: its Cluster and Broker layer.
 *
 * Why: kafkajs's public consumer always joins a consumer group (it has no manual assignment and no
 * one-shot fetch), so a stateless multi-partition fetch at a given offset, which is what the
 * StorageEngine contract asks for, cannot be built on it without a group join and a rebalance per
 * request. The Cluster/Broker layer does exactly that request: `broker.fetch()` sends one Fetch to
 * one leader with our offsets, `broker.listOffsets()` one ListOffsets with an isolation level, and
 * `broker.metadata()` reports the controller id and `isInternal`, which the admin API hides.
 *
 * Appends use `broker.produce()` too: kafkajs's public producer keeps every topic it ever sent to in
 * its metadata requests, so once one of them is deleted every later send, to any topic, fails with
 * UNKNOWN_TOPIC_OR_PARTITION (seen with kafkajs 2.2.4). Routing to the leader from our own metadata
 * has no such hidden state.
 *
 * Consumer groups use the Broker's group APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups): kafkajs's public consumer
 * runs its own fetch loop and rebalance callbacks, while Basket's consumer layer already speaks the
 * group protocol through its GroupCoordinator interface and reads through the engine's fetch.
 *
 * Idempotent appends and transactions use the Broker's InitProducerId, AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit and EndTxn: kafkajs's own idempotent producer asks the controller
 * for its producer id (any broker answers it), and its transactional producer owns the sequences and
 * the sends that Basket's transactions layer makes through `engine.append` (see README).
 *
 * kafkajs 2.2.4 is its last release, so these shapes do not move under us; still, they are typed
 * here (only what is used) and exercised by the engine compliance suite, so a change shows up as a
 * failing test rather than a wrong answer. package.json should pin kafkajs to that exact version.
 */
import type { logCreator, logLevel } from 'kafkajs';
import type { ResolvedKafkaEngineOptions } from './kafka-engine-options';
import { kafkajsClientConfig } from './kafka-engine-options';

export interface KjsBrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack?: string | null;
}

export interface KjsPartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface KjsTopicMetadata {
  topicErrorCode: number;
  topic: string;
  isInternal?: boolean;
  partitionMetadata: KjsPartitionMetadata[];
}

export interface KjsMetadata {
  brokers: KjsBrokerInfo[];
  controllerId?: number | null;
  clusterId?: string;
  topicMetadata: KjsTopicMetadata[];
}

/** A record as kafkajs's RecordBatch decoder yields it; offsets and timestamps are decimal strings. */
export interface KjsMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | null | Array<Buffer | null>>;
  isControlRecord?: boolean;
  /** Absent for pre-v2 message sets (magic 0/1), which carry no transactions. */
  batchContext?: {
    firstOffset: string;
    lastOffsetDelta: number;
    producerId: string;
    producerEpoch?: number;
    firstSequence?: number;
    inTransaction: boolean;
    isControlBatch: boolean;
    /** 0 = CreateTime, 1 = LogAppendTime. */
    timestampType: number;
  };
}

export interface KjsFetchPartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset?: string;
  lastStartOffset?: string;
  abortedTransactions?: Array<{ producerId: string; firstOffset: string }>;
  messages: KjsMessage[];
}

export interface KjsFetchResponse {
  responses: Array<{ topicName: string; partitions: KjsFetchPartitionResponse[] }>;
}

export interface KjsFetchRequest {
  isolationLevel: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
}

export interface KjsListOffsetsResponse {
  responses: Array<{ topic: string; partitions: Array<{ partition: number; errorCode: number; offset: string; timestamp?: string }> }>;
}

export interface KjsProduceResponse {
  topics: Array<{ topicName: string; partitions: Array<{ partition: number; errorCode: number; baseOffset: string; logAppendTime?: string; logStartOffset?: string }> }>;
}

/** A record as kafkajs's produce encoder takes it; a timestamp of 0 or absent means "now" to it. */
export interface KjsProduceMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer[]>;
  timestamp: number;
}

export type KjsApiVersions = Record<number, { minVersion: number; maxVersion: number }>;

export interface KjsBroker {
  nodeId: number | null;
  versions: KjsApiVersions | null;
  isConnected(): boolean;
  metadata(topics?: string[]): Promise<KjsMetadata>;
  fetch(request: KjsFetchRequest): Promise<KjsFetchResponse>;
  /**
   * Resolves undefined for acks=0 (no response is sent). With a producer id the batch carries it,
   * the epoch and each partition's `firstSequence` (idempotent produce); with a transactional id the
   * batch is also marked transactional.
   */
  produce(request: {
    acks: number;
    timeout: number;
    transactionalId?: string;
    producerId?: string;
    producerEpoch?: number;
    topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: KjsProduceMessage[] }> }>;
  }): Promise<KjsProduceResponse | undefined>;
  /** Kafka's InitProducerId; without a transactional id any broker answers it (idempotent producers). Ids are int64 as decimal strings. */
  initProducerId(request: { transactionalId?: string; transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  listOffsets(request: {
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; timestamp: number }> }>;
  }): Promise<KjsListOffsetsResponse>;
}

/** JoinGroup's answer; the members, each with its protocol metadata (opaque bytes), are listed to the leader only. */
export interface KjsJoinGroupResponse {
  generationId: number;
  groupProtocol: string;
  leaderId: string;
  memberId: string;
  members: Array<{ memberId: string; memberMetadata: Buffer }>;
}

export interface KjsDescribedGroup {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string; memberMetadata: Buffer | null; memberAssignment: Buffer | null }>;
}

export interface KjsOffsetFetchResponse {
  responses: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; metadata: string | null; errorCode: number }> }>;
}

/**
 * Kafka's group APIs as kafkajs's Broker sends them. Each throws kafkajs's protocol error for the
 * first error in the answer, except deleteGroups, which reports one error per group.
 */
export interface KjsGroupApis {
  /** Blocks at the coordinator until the rebalance's join phase ends; kafkajs answers MEMBER_ID_REQUIRED itself. */
  joinGroup(request: {
    groupId: string;
    sessionTimeout: number;
    rebalanceTimeout: number;
    memberId: string;
    protocolType: string;
    groupProtocols: Array<{ name: string; metadata: Buffer }>;
  }): Promise<KjsJoinGroupResponse>;
  syncGroup(request: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupAssignment: Array<{ memberId: string; memberAssignment: Buffer }>;
  }): Promise<{ memberAssignment: Buffer }>;
  heartbeat(request: { groupId: string; groupGenerationId: number; memberId: string }): Promise<unknown>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; metadata: string }> }>;
  }): Promise<unknown>;
  /** An empty `topics` asks for every partition the group committed (encoded as null from OffsetFetch v3). */
  offsetFetch(request: { groupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number }> }> }): Promise<KjsOffsetFetchResponse>;
  describeGroups(request: { groupIds: string[] }): Promise<{ groups: KjsDescribedGroup[] }>;
  listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string }> }>;
  deleteGroups(groupIds: string[]): Promise<{ results: Array<{ groupId: string; errorCode: number; error?: unknown }> }>;
}

export type KjsGroupBroker = KjsBroker & KjsGroupApis;

/** A transactional producer's identity in Kafka's transaction requests. */
export interface KjsTxnProducer {
  transactionalId: string;
  producerId: string;
  producerEpoch: number;
}

/**
 * Kafka's transaction APIs as kafkajs's Broker sends them (to the transactional id's coordinator,
 * except TxnOffsetCommit, which goes to the group's). Each throws kafkajs's protocol error for the
 * first error in the answer; AddPartitionsToTxn and TxnOffsetCommit answer per partition.
 */
export interface KjsTxnApis {
  addPartitionsToTxn(request: KjsTxnProducer & { topics: Array<{ topic: string; partitions: number[] }> }): Promise<unknown>;
  addOffsetsToTxn(request: KjsTxnProducer & { groupId: string }): Promise<unknown>;
  txnOffsetCommit(request: KjsTxnProducer & { groupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; metadata: string | null }> }> }): Promise<unknown>;
  endTxn(request: KjsTxnProducer & { transactionResult: boolean }): Promise<unknown>;
}

export type KjsTxnBroker = KjsGroupBroker & KjsTxnApis;

/** FindCoordinator's key types. */
export const COORDINATOR_TYPE = { group: 0, transaction: 1 } as const;

export interface KjsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  /** With no target topics added, fetches metadata of every topic. */
  refreshMetadata(): Promise<void>;
  findBroker(query: { nodeId: number | string }): Promise<KjsBroker>;
  brokerPool: { metadata: KjsMetadata | null; versions: KjsApiVersions | null };
  /**
   * FindCoordinator (with kafkajs's retries), then the coordinator's broker on this Cluster's
   * connections; `coordinatorType` 1 finds a transactional id's coordinator.
   */
  findGroupCoordinator(query: { groupId: string; coordinatorType?: number }): Promise<KjsTxnBroker>;
}

/** Kafka's isolation levels as the protocol encodes them. */
export const ISOLATION = { read_uncommitted: 0, read_committed: 1 } as const;

/** Kafka protocol API keys the engine checks for before calling. */
export const API_KEYS = {
  CreateTopics: 19,
  DeleteTopics: 20,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  CreatePartitions: 37,
  OffsetFetch: 9,
  DescribeGroups: 15,
  ListGroups: 16,
  DeleteGroups: 42,
  InitProducerId: 22,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
} as const;

interface KjsLoggerFactory {
  createLogger(options: { level: logLevel; logCreator: logCreator }): unknown;
}

type ClusterConstructor = new (options: Record<string, unknown>) => KjsCluster;

/**
 * A kafkajs Cluster of our own: its own connections (one for fetches, one for everything else, per
 * broker) and metadata. Topic auto-creation is off: a metadata request must never create a topic.
 */
export function createKafkajsCluster(options: ResolvedKafkaEngineOptions, level: logLevel, creator: logCreator): KjsCluster {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Cluster = require('kafkajs/src/cluster') as ClusterConstructor;
  const loggers = require('kafkajs/src/loggers') as KjsLoggerFactory;
  const socketFactory = (require('kafkajs/src/network/socketFactory') as () => unknown)();
  const client = kafkajsClientConfig(options);
  return new Cluster({
    ...client,
    logger: loggers.createLogger({ level, logCreator: creator }),
    socketFactory,
    metadataMaxAge: options.metadataMaxAgeMs,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    instrumentationEmitter: null,
  });
}
