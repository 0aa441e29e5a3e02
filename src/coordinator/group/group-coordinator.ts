/**
 * The group coordinator contract: Kafka's group membership protocol (JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup), committed offsets (OffsetCommit, OffsetFetch) and group administration
 * (DescribeGroups, ListGroups, DeleteGroups, offset reset). No HTTP types appear here, so an engine
 * can put consumer instances on another coordinator (Kafka's own, through one client per member).
 *
 * The protocol is Kafka's client-side assignment: every member joins with the assignors it
 * supports; once all known members have joined, the coordinator picks one assignor all of them
 * support and names a leader; the leader computes the assignment and hands it over in SyncGroup;
 * everyone gets its share from SyncGroup. A rebalance starts when a member joins, leaves, changes
 * its subscription or expires; the coordinator then tells each member through its listener, and
 * each member revokes its partitions and joins again.
 *
 * Every method throws `CoordinatorError` (coordinator-error.ts) for expected failures.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What a member asks for: Kafka's ConsumerProtocolSubscription, already decoded. */
export interface Subscription {
  topics: string[];
}

/** What a member gets: Kafka's ConsumerProtocolAssignment, already decoded. */
export interface Assignment {
  partitions: TopicPartition[];
  /**
   * Partition counts of the topics the leader assigned from. A member that later sees another count
   * for one of its topics (a topic created or grown) asks for a rebalance, as Kafka's leader does
   * when its metadata changes.
   */
  partitionCounts: Record<string, number>;
}

export interface GroupProtocol {
  /** Assignor name, e.g. 'range' or 'roundrobin'. */
  name: string;
  subscription: Subscription;
}

/** How the coordinator reaches a member between its requests. */
export interface GroupMemberListener {
  /**
   * The group is preparing a rebalance: the member should finish what it delivers, revoke its
   * partitions (committing if it auto-commits) and join again within its rebalance timeout.
   */
  onRebalance(): void;
}

export interface JoinGroupRequest {
  groupId: string;
  /** '' for a member joining for the first time; the coordinator gives it an id. */
  memberId: string;
  /** Client id shown by describe (the consumer instance's name). */
  clientId: string;
  /** A member not heard from (heartbeat, join, sync, commit) for this long is removed. */
  sessionTimeoutMs: number;
  /** How long the coordinator waits for every known member to join again during a rebalance. */
  rebalanceTimeoutMs: number;
  /** Supported assignors in order of preference. */
  protocols: GroupProtocol[];
  listener: GroupMemberListener;
}

export interface JoinGroupMember {
  memberId: string;
  clientId: string;
  subscription: Subscription;
}

export interface JoinGroupResponse {
  generationId: number;
  memberId: string;
  leaderId: string;
  protocolName: string;
  /** Every member with its subscription for the chosen protocol; empty unless this member leads. */
  members: JoinGroupMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  memberId: string;
  generationId: number;
  /** The leader's assignment for every member; empty from followers. */
  assignments: Array<{ memberId: string; assignment: Assignment }>;
}

export interface SyncGroupResponse {
  assignment: Assignment;
}

export interface MemberRef {
  groupId: string;
  memberId: string;
  generationId: number;
}

export interface OffsetAndMetadata {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** '' and generation -1 for a consumer that assigns partitions itself (no group membership). */
  memberId: string;
  generationId: number;
  offsets: OffsetAndMetadata[];
}

/** A committed offset; `offset` is -1 when the group has none for the partition (as Kafka's OffsetFetch). */
export interface CommittedOffset extends OffsetAndMetadata {
  commitTimestamp: number;
}

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface MemberDescription {
  memberId: string;
  clientId: string;
  subscription: Subscription;
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  state: GroupStateName;
  protocolType: string;
  /** The chosen assignor; '' while there is none. */
  protocol: string;
  generationId: number;
  /** '' when the group has no leader. */
  leaderId: string;
  members: MemberDescription[];
  offsets: CommittedOffset[];
}

export interface GroupOverview {
  groupId: string;
  state: GroupStateName;
  protocolType: string;
  members: number;
}

export interface GroupCoordinator {
  /** Loads the coordinator's state (the embedded one replays its log). */
  start(): Promise<void>;
  /** Stops timers; members still joined are dropped without a rebalance. */
  close(): Promise<void>;

  /** Resolves when the join phase of the rebalance completes, which may take a rebalance timeout. */
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse>;
  /** Resolves once the leader's assignment for this generation is stored. */
  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResponse>;
  /** Keeps the member's session; throws REBALANCE_IN_PROGRESS when it must join again. */
  heartbeat(member: MemberRef): Promise<void>;
  leaveGroup(groupId: string, memberId: string): Promise<void>;

  /** Checked against the member's generation: a stale member's commit is refused (ILLEGAL_GENERATION). */
  commitOffsets(request: OffsetCommitRequest): Promise<void>;
  /** Committed offsets of the given partitions (-1 where none), or of every partition the group has committed. */
  fetchOffsets(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]>;

  /** Throws GROUP_ID_NOT_FOUND for a group with neither members nor committed offsets. */
  describeGroup(groupId: string): Promise<GroupDescription>;
  listGroups(): Promise<GroupOverview[]>;
  /** Only an empty group: NON_EMPTY_GROUP otherwise. Drops its committed offsets. */
  deleteGroup(groupId: string): Promise<void>;
  /** Overwrites committed offsets of a group that has no active member (NON_EMPTY_GROUP otherwise). */
  resetOffsets(groupId: string, offsets: OffsetAndMetadata[]): Promise<void>;
}
