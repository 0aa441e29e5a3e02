import type { Logger } from 'pino';
import { CoordinatorError, isCoordinatorError } from '../../coordinator/group/coordinator-error';
import type {
  CommittedOffset,
  GroupCoordinator,
  GroupDescription,
  GroupMemberListener,
  GroupOverview,
  JoinGroupRequest,
  JoinGroupResponse,
  MemberRef,
  OffsetAndMetadata,
  OffsetCommitRequest,
  SyncGroupRequest,
  SyncGroupResponse,
  TopicPartition,
} from '../../coordinator/group/group-coordinator';
import { isEngineError } from '../engine-error';
import { KafkaGroupAdmin } from './kafka-group-admin';
import { KafkaGroupConnection } from './kafka-group-connection';
import { KafkaGroupMember } from './kafka-group-member';
import { decodeAssignment, decodeSubscription, encodeAssignment } from './kafka-group-protocol';
import { API_KEYS, type KjsCluster } from './kafkajs-internals';
import { byTopic } from './by-topic';

export interface KafkaGroupCoordinatorOptions {
  /**
   * Longest session timeout sent to Kafka. The consumer layer asks for long sessions (longer than a
   * consumer instance's idle timeout) because on the embedded coordinator only its requests keep a
   * member alive; here a heartbeat loop does, so Kafka can be given a short one and a Basket process
   * that dies frees its partitions within it. Default 10000 (Kafka's minimum is 6000 unless the
   * broker's group.min.session.timeout.ms says otherwise).
   */
  sessionTimeoutMs?: number;
  /** Default a third of the session timeout, as Kafka advises, at most 3000 (Kafka's default). */
  heartbeatIntervalMs?: number;
  now?: () => number;
}

export interface KafkaGroupCoordinatorDeps {
  /** A kafkajs Cluster with the engine's connection settings; `clientId` names a member's connection. */
  newCluster(clientId?: string): KjsCluster;
  /** Partition counts of topics, for an assignment whose leader was not Basket (it sends none). */
  partitionCounts(topics: string[]): Promise<Record<string, number>>;
  /** Throws while the cluster is known to be unreachable. */
  assertUp?: () => void;
  logger: Logger;
}

const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const MAX_HEARTBEAT_INTERVAL_MS = 3_000;
/** Longest wait of a leader's SyncGroup for the followers of this process (localFollowersSynced). */
const LOCAL_FOLLOWER_WAIT_MS = 1_000;

/**
 * The group coordinator of the kafka engine: Kafka's own. Consumer instances and SSE group streams
 * are members of real Kafka consumer groups (a Java, librdkafka or kafkajs consumer in the same
 * group shares partitions with them) and committed offsets are Kafka's (__consumer_offsets).
 *
 * Why this design, rather than one kafkajs Consumer per consumer instance: the consumer layer
 * (GroupMembership, ConsumerInstance, GroupStreamMember) already speaks Kafka's group protocol
 * through the GroupCoordinator interface, with eager rebalancing that commits before revoking and
 * long-polls through engine.fetch. Sending that protocol to Kafka keeps one consumer layer for both
 * engines, with the same delivery invariants, and needs no busy loop per request: a kafkajs
 * Consumer runs its own fetch loop and its own rebalance callbacks, which would have to be paused,
 * resumed and bridged for every long poll.
 *
 * Each member (one per GroupMemberListener) has its own connection for JoinGroup and SyncGroup and
 * a heartbeat loop that turns Kafka's REBALANCE_IN_PROGRESS into `listener.onRebalance()`
 * (KafkaGroupMember); everything else shares one connection (KafkaGroupConnection explains why).
 * Nothing is kept here beyond the members of this process: start() only connects.
 */
export class KafkaGroupCoordinator implements GroupCoordinator {
  private readonly shared: KafkaGroupConnection;
  private readonly admin: KafkaGroupAdmin;
  private readonly byListener = new Map<GroupMemberListener, KafkaGroupMember>();
  private readonly byMemberId = new Map<string, KafkaGroupMember>();
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(
    private readonly deps: KafkaGroupCoordinatorDeps,
    options: KafkaGroupCoordinatorOptions = {},
  ) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(100, Math.floor(this.sessionTimeoutMs / 3)));
    if (!(this.sessionTimeoutMs > 0) || !(this.heartbeatIntervalMs > 0) || this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw new Error(`kafka group coordinator: need 0 < heartbeatIntervalMs (${this.heartbeatIntervalMs}) < sessionTimeoutMs (${this.sessionTimeoutMs})`);
    }
    this.now = options.now ?? Date.now;
    this.shared = new KafkaGroupConnection(deps.newCluster(), deps.assertUp);
    this.admin = new KafkaGroupAdmin(this.shared, (groupId) => this.fetchOffsets(groupId));
  }

  /** Connects, so that an unreachable cluster shows at start; members and offsets live in Kafka. */
  async start(): Promise<void> {
    this.assertOpen();
    await this.shared.requireApi(API_KEYS.OffsetFetch, 'OffsetFetch');
  }

  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.byListener.values()];
    this.byListener.clear();
    this.byMemberId.clear();
    await Promise.all([...members.map((m) => m.close()), this.shared.close()]);
  }

  async joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    this.assertOpen();
    if (request.groupId === '') throw new CoordinatorError('INVALID_GROUP_ID', 'The group id must not be empty');
    if (!(request.sessionTimeoutMs > 0) || !(request.rebalanceTimeoutMs > 0)) {
      throw new CoordinatorError('INVALID_SESSION_TIMEOUT', 'Session and rebalance timeouts must be positive');
    }
    const member = this.memberFor(request);
    this.byMemberId.delete(key(member.groupId, member.memberId));
    const response = await member.join(request).catch((err: unknown) => this.drop(member, err));
    if (this.byListener.get(request.listener) === member) this.byMemberId.set(key(member.groupId, response.memberId), member);
    return {
      generationId: response.generationId,
      memberId: response.memberId,
      leaderId: response.leaderId,
      protocolName: response.groupProtocol,
      // JoinGroup does not carry client ids; only describe shows them.
      members: response.members.map((m) => ({ memberId: m.memberId, clientId: '', subscription: decodeSubscription(m.memberMetadata) })),
    };
  }

  async syncGroup(request: SyncGroupRequest): Promise<SyncGroupResponse> {
    this.assertOpen();
    const member = this.member(request.groupId, request.memberId);
    if (member === undefined) throw new CoordinatorError('UNKNOWN_MEMBER_ID', `Member '${request.memberId}' of group '${request.groupId}' has not joined through this coordinator`);
    if (request.assignments.length > 1) await this.localFollowersSynced(member);
    const assignments = request.assignments.map((a) => ({ memberId: a.memberId, memberAssignment: encodeAssignment(a.assignment) }));
    const decoded = decodeAssignment(await member.sync(request.generationId, assignments).catch((err: unknown) => this.drop(member, err)));
    const partitionCounts = decoded.partitionCounts ?? (await this.deps.partitionCounts(member.topics));
    return { assignment: { partitions: decoded.partitions, partitionCounts } };
  }

  async heartbeat(ref: MemberRef): Promise<void> {
    this.assertOpen();
    const member = this.member(ref.groupId, ref.memberId);
    if (member !== undefined) return member.heartbeat(ref.generationId);
    await this.shared.onCoordinator(ref.groupId, `heartbeat to group '${ref.groupId}'`, (broker) =>
      broker.heartbeat({ groupId: ref.groupId, groupGenerationId: ref.generationId, memberId: ref.memberId }),
    );
  }

  async leaveGroup(groupId: string, memberId: string): Promise<void> {
    this.assertOpen();
    const member = this.member(groupId, memberId);
    if (member === undefined) {
      await this.shared.onCoordinator(groupId, `leave group '${groupId}'`, (broker) => broker.leaveGroup({ groupId, memberId }));
      return;
    }
    this.forget(member);
    member.stopHeartbeats();
    await member.sendLeave();
    await member.close();
  }

  async commitOffsets(request: OffsetCommitRequest): Promise<void> {
    this.assertOpen();
    if (request.offsets.length === 0) return;
    this.member(request.groupId, request.memberId)?.touch();
    await this.shared.onCoordinator(request.groupId, `commit offsets of group '${request.groupId}'`, (broker) =>
      broker.offsetCommit({
        groupId: request.groupId,
        groupGenerationId: request.generationId,
        memberId: request.memberId,
        topics: byTopic(request.offsets, (o) => ({ partition: o.partition, offset: String(o.offset), metadata: o.metadata })),
      }),
    );
  }

  async fetchOffsets(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]> {
    this.assertOpen();
    if (partitions === undefined) {
      // Every partition the group committed: OffsetFetch with null topics, which kafkajs encodes from v3.
      await this.shared.requireApi(API_KEYS.OffsetFetch, 'OffsetFetch', 3);
      const all = await this.offsetFetch(groupId, []);
      return all.filter((o) => o.offset >= 0);
    }
    if (partitions.length === 0) return [];
    let found: CommittedOffset[];
    try {
      found = await this.offsetFetch(groupId, partitions);
    } catch (err) {
      // kafkajs fails the whole answer for one unknown topic; ask per topic, unknown ones have no offsets.
      if (!isEngineError(err) || err.code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      found = (await Promise.all(byTopic(partitions, (tp) => tp).map((t) => this.offsetFetchOfTopic(groupId, t.partitions)))).flat();
    }
    const committed = new Map(found.map((o) => [key(o.topic, String(o.partition)), o]));
    return partitions.map((tp) => committed.get(key(tp.topic, String(tp.partition))) ?? { ...tp, offset: -1, metadata: '', commitTimestamp: -1 });
  }

  describeGroup(groupId: string): Promise<GroupDescription> {
    this.assertOpen();
    return this.admin.describe(groupId);
  }

  listGroups(): Promise<GroupOverview[]> {
    this.assertOpen();
    return this.admin.list();
  }

  deleteGroup(groupId: string): Promise<void> {
    this.assertOpen();
    return this.admin.delete(groupId);
  }

  /** Kafka's admin reset: a commit outside group membership, which Kafka accepts only while the group is empty. */
  async resetOffsets(groupId: string, offsets: OffsetAndMetadata[]): Promise<void> {
    try {
      await this.commitOffsets({ groupId, memberId: '', generationId: -1, offsets });
    } catch (err) {
      if (isCoordinatorError(err) && ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS'].includes(err.code)) {
        throw new CoordinatorError('NON_EMPTY_GROUP', `Group '${groupId}' has active members; reset offsets once they have left (${err.code})`, { cause: err });
      }
      throw err;
    }
  }

  private memberFor(request: JoinGroupRequest): KafkaGroupMember {
    const existing = this.byListener.get(request.listener);
    if (existing !== undefined && existing.groupId === request.groupId) return existing;
    if (existing !== undefined) {
      this.forget(existing);
      void existing.close();
    }
    const member: KafkaGroupMember = new KafkaGroupMember(
      request.groupId,
      request.listener,
      { sessionTimeoutMs: this.sessionTimeoutMs, heartbeatIntervalMs: this.heartbeatIntervalMs },
      {
        shared: this.shared,
        channel: new KafkaGroupConnection(this.deps.newCluster(request.clientId), this.deps.assertUp),
        logger: this.deps.logger,
        now: this.now,
        onExpired: () => {
          this.forget(member);
          void member.close();
        },
      },
    );
    this.byListener.set(request.listener, member);
    return member;
  }

  /**
   * A leader's SyncGroup waits (briefly) until the other members of this process that are in the
   * rebalance have sent theirs. On Kafka the order does not matter and they send at once anyway; on
   * librdkafka's mock cluster a follower's SyncGroup that arrives after the leader's is refused
   * (the generation is complete without it), and it would join again, starting another rebalance.
   */
  private async localFollowersSynced(leader: KafkaGroupMember): Promise<void> {
    const followers = [...this.byListener.values()].filter((m) => m !== leader && m.groupId === leader.groupId);
    if (followers.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, LOCAL_FOLLOWER_WAIT_MS)));
    await Promise.race([Promise.all(followers.map((m) => m.whenSyncSent())), bound]);
    clearTimeout(timer);
    // Sent means handed to the connection; let the writes leave before the leader's.
    await new Promise((resolve) => setImmediate(resolve));
  }

  private member(groupId: string, memberId: string): KafkaGroupMember | undefined {
    return memberId === '' ? undefined : this.byMemberId.get(key(groupId, memberId));
  }

  /**
   * After a failed join or sync the member is closed: its owner either joins again (through a new
   * member, with a new connection) or gives up, possibly without an id to leave with; either way
   * nothing of it may stay open here.
   */
  private drop(member: KafkaGroupMember, err: unknown): never {
    this.forget(member);
    void member.close();
    throw err;
  }

  private forget(member: KafkaGroupMember): void {
    if (this.byListener.get(member.listener) === member) this.byListener.delete(member.listener);
    if (this.byMemberId.get(key(member.groupId, member.memberId)) === member) this.byMemberId.delete(key(member.groupId, member.memberId));
  }

  private async offsetFetch(groupId: string, partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    const response = await this.shared.onCoordinator(groupId, `fetch committed offsets of group '${groupId}'`, (broker) =>
      broker.offsetFetch({ groupId, topics: byTopic(partitions, (tp) => ({ partition: tp.partition })) }),
    );
    return response.responses.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset), metadata: p.metadata ?? '', commitTimestamp: -1 })),
    );
  }

  private async offsetFetchOfTopic(groupId: string, partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    try {
      return await this.offsetFetch(groupId, partitions);
    } catch (err) {
      if (isEngineError(err) && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') return [];
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closed');
  }
}

function key(groupId: string, memberId: string): string {
  return `${groupId}\u0000${memberId}`;
}
