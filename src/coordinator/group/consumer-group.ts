import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CoordinatorError } from './coordinator-error';
import { deferred, type Deferred } from './deferred';
import type {
  Assignment,
  GroupMemberListener,
  GroupProtocol,
  GroupStateName,
  JoinGroupRequest,
  JoinGroupResponse,
  MemberDescription,
  SyncGroupRequest,
  SyncGroupResponse,
} from './group-coordinator';
import { assertTransition } from './group-state';
import { groupMetadataRecord, type CoordinatorRecord, type GroupMetadataValue } from './coordinator-records';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

const NO_ASSIGNMENT: Assignment = Object.freeze({ partitions: [], partitionCounts: {} }) as Assignment;

interface GroupMember {
  readonly memberId: string;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  listener: GroupMemberListener;
  assignment: Assignment;
  /** Last time the member was heard from; the session runs from here. */
  lastSeen: number;
  joining?: Deferred<JoinGroupResponse>;
  syncing?: Deferred<SyncGroupResponse>;
}

export interface GroupContext {
  now(): number;
  /** Appends records to the group's coordinator partition; resolves once durable and replayed. */
  write(records: CoordinatorRecord[]): Promise<void>;
  logger: Logger;
}

/**
 * One consumer group's membership, Kafka's classic protocol, in memory. Committed offsets live in
 * the shard (group-coordinator-shard.ts); this class knows members, generations and the rebalance.
 *
 * Invariants:
 * - state moves only along VALID_PREVIOUS_STATES (group-state.ts);
 * - generationId grows by one each time a join phase completes, and never goes back (it is
 *   restored from the last GroupMetadata record at start);
 * - in Stable every member's assignment is the one the leader gave for the current generation and
 *   is stored in a GroupMetadata record before any member receives it;
 * - in PreparingRebalance every member either has a pending join or has been asked (listener) to
 *   join again; the join phase ends when all have joined or the largest rebalance timeout passes,
 *   and members that did not join by then are removed;
 * - in CompletingRebalance the leader's SyncGroup is awaited for at most the rebalance timeout.
 *
 * Members are not restored at start (they are in-process consumer instances of the previous run):
 * a loaded group is Empty with its stored generation. `stateTimestamp` is when the group entered its
 * state; for an Empty group, when it became empty, from which offsets retention counts.
 */
export class ConsumerGroup {
  state: GroupStateName = 'Empty';
  generationId = 0;
  protocolName = '';
  leaderId = '';
  stateTimestamp: number;
  private readonly members = new Map<string, GroupMember>();
  private timer: NodeJS.Timeout | undefined;
  private emptiedByRestart = false;

  constructor(readonly groupId: string, private readonly ctx: GroupContext) {
    this.stateTimestamp = ctx.now();
  }

  get size(): number {
    return this.members.size;
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  /** JoinGroup: resolves when this join phase completes. */
  join(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    if (this.state === 'Dead') throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `Group '${this.groupId}' is being deleted`);
    if (req.protocols.length === 0) throw new CoordinatorError('INCONSISTENT_GROUP_PROTOCOL', 'A member must support at least one assignor');
    if (!this.supportsProtocols(req.memberId, req.protocols)) {
      throw new CoordinatorError(
        'INCONSISTENT_GROUP_PROTOCOL',
        `Group '${this.groupId}' uses the assignors [${this.commonProtocols().join(', ')}]; a member supporting only [${req.protocols.map((p) => p.name).join(', ')}] cannot join`,
      );
    }
    let member: GroupMember;
    if (req.memberId === '') {
      member = {
        memberId: `${req.clientId}-${randomUUID()}`,
        clientId: req.clientId,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        listener: req.listener,
        assignment: NO_ASSIGNMENT,
        lastSeen: this.ctx.now(),
      };
      this.members.set(member.memberId, member);
    } else {
      member = this.member(req.memberId);
      member.clientId = req.clientId;
      member.sessionTimeoutMs = req.sessionTimeoutMs;
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
      member.protocols = req.protocols;
      member.listener = req.listener;
      member.lastSeen = this.ctx.now();
    }
    member.joining?.reject(new CoordinatorError('REBALANCE_IN_PROGRESS', 'Superseded by a newer JoinGroup of the same member'));
    const pending = deferred<JoinGroupResponse>();
    member.joining = pending;
    // A join outside PreparingRebalance (a new member, or a member whose subscription or metadata
    // changed) starts a rebalance; during one it may be the join that completes it.
    if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    else this.prepareRebalance(`member ${member.memberId} joined`);
    return pending.promise;
  }

  /** SyncGroup: the leader hands the assignment over; everyone receives its share once it is stored. */
  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const member = this.member(req.memberId);
    member.lastSeen = this.ctx.now();
    if (this.state === 'PreparingRebalance') throw new CoordinatorError('REBALANCE_IN_PROGRESS', `Group '${this.groupId}' is rebalancing; join again`);
    this.checkGeneration(member, req.generationId);
    if (this.state === 'Stable') return Promise.resolve({ assignment: member.assignment });
    if (this.state !== 'CompletingRebalance') throw new CoordinatorError('UNKNOWN_MEMBER_ID', `Group '${this.groupId}' is ${this.state}`);
    member.syncing?.reject(new CoordinatorError('REBALANCE_IN_PROGRESS', 'Superseded by a newer SyncGroup of the same member'));
    const pending = deferred<SyncGroupResponse>();
    member.syncing = pending;
    if (member.memberId === this.leaderId) this.storeAssignment(req);
    return pending.promise;
  }

  heartbeat(memberId: string, generationId: number): void {
    const member = this.member(memberId);
    member.lastSeen = this.ctx.now();
    if (this.state === 'PreparingRebalance') throw new CoordinatorError('REBALANCE_IN_PROGRESS', `Group '${this.groupId}' is rebalancing; join again`);
    this.checkGeneration(member, generationId);
  }

  leave(memberId: string): void {
    this.removeMembers([this.member(memberId)], `member ${memberId} left`);
  }

  /**
   * OffsetCommit's membership check, as Kafka's: a consumer outside group management (member '' and
   * generation -1) may commit only while the group has no members; a member must be known, not in
   * the middle of a rebalance's sync, and of the current generation.
   */
  validateCommit(memberId: string, generationId: number): void {
    if (this.state === 'Dead') throw new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `Group '${this.groupId}' is being deleted`);
    if (memberId === '' && generationId < 0) {
      if (this.members.size === 0) return;
      throw new CoordinatorError(
        'UNKNOWN_MEMBER_ID',
        `Group '${this.groupId}' has ${this.members.size} active member(s); a consumer outside its membership cannot commit`,
      );
    }
    const member = this.member(memberId);
    if (this.state === 'CompletingRebalance') throw new CoordinatorError('REBALANCE_IN_PROGRESS', `Group '${this.groupId}' is completing a rebalance; commit after it`);
    this.checkGeneration(member, generationId);
    member.lastSeen = this.ctx.now();
  }

  /** Removes members whose session ran out (members in a join or sync are bounded by the rebalance timer). */
  expireMembers(now: number): number {
    const expired = [...this.members.values()].filter(
      (m) => m.joining === undefined && m.syncing === undefined && now - m.lastSeen > m.sessionTimeoutMs,
    );
    if (expired.length > 0) this.removeMembers(expired, `session of ${expired.map((m) => m.memberId).join(', ')} expired`);
    return expired.length;
  }

  describeMembers(): MemberDescription[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      subscription: (m.protocols.find((p) => p.name === this.protocolName) ?? m.protocols[0] ?? { subscription: { topics: [] } }).subscription,
      assignment: this.state === 'Stable' ? m.assignment.partitions : [],
    }));
  }

  /** Restores what a GroupMetadata record says; only for a group without live members (at load). */
  loadPersisted(value: GroupMetadataValue): void {
    if (this.members.size > 0) return;
    this.generationId = Math.max(this.generationId, value.generation);
    this.stateTimestamp = value.currentStateTimestamp;
    this.emptiedByRestart = value.members.length > 0;
  }

  /**
   * After load: a group whose last record still lists members lost them with the previous run, so
   * it is empty since this load (offsets retention counts from there), and a record says so, so that
   * the next restart does not count from its own start again.
   */
  settleLoaded(): void {
    if (!this.emptiedByRestart || this.members.size > 0) return;
    this.emptiedByRestart = false;
    this.stateTimestamp = this.ctx.now();
    this.persist(this.metadataValue(new Map()));
  }

  markDead(): void {
    this.clearTimer();
    for (const m of this.members.values()) this.dropPending(m, new CoordinatorError('COORDINATOR_NOT_AVAILABLE', `Group '${this.groupId}' was deleted`));
    this.members.clear();
    this.transition('Dead');
  }

  /** Drops every member without a rebalance: the coordinator is closing. */
  shutdown(): void {
    this.clearTimer();
    for (const m of this.members.values()) this.dropPending(m, new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'The group coordinator is closing'));
    this.members.clear();
  }

  private member(memberId: string): GroupMember {
    const member = this.members.get(memberId);
    if (member === undefined) {
      throw new CoordinatorError('UNKNOWN_MEMBER_ID', `Member '${memberId}' is not in group '${this.groupId}' (it left, expired or was removed by a rebalance)`);
    }
    return member;
  }

  private checkGeneration(member: GroupMember, generationId: number): void {
    if (generationId !== this.generationId) {
      throw new CoordinatorError(
        'ILLEGAL_GENERATION',
        `Member '${member.memberId}' is at generation ${generationId} but group '${this.groupId}' is at generation ${this.generationId}; its partitions may have moved`,
      );
    }
  }

  private prepareRebalance(reason: string): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) {
        m.syncing?.reject(new CoordinatorError('REBALANCE_IN_PROGRESS', `Group '${this.groupId}' is rebalancing again; join again`));
        m.syncing = undefined;
      }
    }
    this.ctx.logger.debug({ group: this.groupId, generation: this.generationId, reason }, 'preparing rebalance');
    this.transition('PreparingRebalance');
    this.startTimer(() => {
      if (this.state === 'PreparingRebalance') this.completeJoin();
    });
    for (const m of this.members.values()) {
      if (m.joining !== undefined) continue;
      const listener = m.listener;
      // Asynchronously: the listener reacts by calling back into the coordinator.
      queueMicrotask(() => listener.onRebalance());
    }
    this.maybeCompleteJoin();
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    for (const m of this.members.values()) if (m.joining === undefined) return;
    this.completeJoin();
  }

  /** Ends the join phase: members that did not join are removed, then a new generation starts. */
  private completeJoin(): void {
    this.clearTimer();
    for (const m of [...this.members.values()]) {
      if (m.joining !== undefined) continue;
      this.ctx.logger.info({ group: this.groupId, member: m.memberId }, 'member removed: it did not join within the rebalance timeout');
      this.dropPending(m, new CoordinatorError('UNKNOWN_MEMBER_ID', 'Removed: did not join within the rebalance timeout'));
      this.members.delete(m.memberId);
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.protocolName = '';
      this.leaderId = '';
      this.transition('Empty');
      this.persist(this.metadataValue(new Map()));
      return;
    }
    this.protocolName = this.selectProtocol();
    if (!this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value as string;
    this.transition('CompletingRebalance');
    this.startTimer(() => this.onSyncTimeout());
    const all = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      subscription: (m.protocols.find((p) => p.name === this.protocolName) as GroupProtocol).subscription,
    }));
    for (const m of this.members.values()) {
      const joining = m.joining as Deferred<JoinGroupResponse>;
      m.joining = undefined;
      m.lastSeen = this.ctx.now();
      joining.resolve({
        generationId: this.generationId,
        memberId: m.memberId,
        leaderId: this.leaderId,
        protocolName: this.protocolName,
        members: m.memberId === this.leaderId ? all : [],
      });
    }
  }

  private storeAssignment(req: SyncGroupRequest): void {
    const generation = this.generationId;
    const assignments = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
    const stillCurrent = () => this.state === 'CompletingRebalance' && this.generationId === generation;
    this.ctx.write([groupMetadataRecord(this.groupId, this.metadataValue(assignments))]).then(
      () => {
        if (!stillCurrent()) return;
        this.clearTimer();
        for (const m of this.members.values()) m.assignment = assignments.get(m.memberId) ?? NO_ASSIGNMENT;
        this.transition('Stable');
        for (const m of this.members.values()) {
          m.syncing?.resolve({ assignment: m.assignment });
          m.syncing = undefined;
          m.lastSeen = this.ctx.now();
        }
      },
      (err: unknown) => {
        if (!stillCurrent()) return;
        this.ctx.logger.warn({ group: this.groupId, err }, 'could not store the group assignment');
        for (const m of this.members.values()) {
          m.syncing?.reject(new CoordinatorError('COORDINATOR_NOT_AVAILABLE', 'Could not store the assignment; join again', { cause: err }));
          m.syncing = undefined;
        }
        this.prepareRebalance('storing the assignment failed');
      },
    );
  }

  /** The leader did not hand over an assignment in time: members that did not sync are removed. */
  private onSyncTimeout(): void {
    if (this.state !== 'CompletingRebalance') return;
    const late = [...this.members.values()].filter((m) => m.syncing === undefined);
    this.removeMembers(late, 'members did not sync within the rebalance timeout');
  }

  private removeMembers(members: GroupMember[], reason: string): void {
    for (const m of members) {
      this.dropPending(m, new CoordinatorError('UNKNOWN_MEMBER_ID', `Member '${m.memberId}' was removed from group '${this.groupId}'`));
      this.members.delete(m.memberId);
    }
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance(reason);
    else this.maybeCompleteJoin();
  }

  private dropPending(m: GroupMember, err: CoordinatorError): void {
    m.joining?.reject(err);
    m.syncing?.reject(err);
    m.joining = undefined;
    m.syncing = undefined;
  }

  /** Whether a member with these protocols shares at least one assignor with every other member. */
  private supportsProtocols(memberId: string, protocols: GroupProtocol[]): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== memberId);
    if (others.length === 0) return true;
    const common = intersect(others.map((m) => m.protocols.map((p) => p.name)));
    return protocols.some((p) => common.includes(p.name));
  }

  private commonProtocols(): string[] {
    return intersect([...this.members.values()].map((m) => m.protocols.map((p) => p.name)));
  }

  /** Kafka's vote: among assignors every member supports, each member votes for its first preference. */
  private selectProtocol(): string {
    const candidates = this.commonProtocols();
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => votes.has(p.name))?.name as string;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0] as string;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  private metadataValue(assignments: Map<string, Assignment>): GroupMetadataValue {
    return {
      protocolType: CONSUMER_PROTOCOL_TYPE,
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: this.ctx.now(),
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscription: (m.protocols.find((p) => p.name === this.protocolName) ?? m.protocols[0] as GroupProtocol).subscription,
        assignment: assignments.get(m.memberId) ?? NO_ASSIGNMENT,
      })),
    };
  }

  private persist(value: GroupMetadataValue): void {
    this.ctx.write([groupMetadataRecord(this.groupId, value)]).catch((err: unknown) => {
      this.ctx.logger.warn({ group: this.groupId, err }, 'could not store the group metadata');
    });
  }

  private startTimer(fn: () => void): void {
    this.clearTimer();
    let timeout = 0;
    for (const m of this.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    // Not unref'd: someone awaits the join or sync this timer ends; close() clears it.
    this.timer = setTimeout(fn, timeout);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private transition(to: GroupStateName): void {
    assertTransition(this.groupId, this.state, to);
    this.state = to;
    this.stateTimestamp = this.ctx.now();
  }
}

function intersect(lists: string[][]): string[] {
  const [first, ...rest] = lists;
  if (first === undefined) return [];
  return first.filter((name) => rest.every((l) => l.includes(name)));
}
