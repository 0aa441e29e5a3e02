import type { Logger } from 'pino';
import { isCoordinatorError } from '../coordinator/group/coordinator-error';
import type { Assignment, GroupCoordinator, GroupMemberListener, JoinGroupResponse, Subscription } from '../coordinator/group/group-coordinator';
import { ASSIGNORS } from '../coordinator/group/partition-assignor';

export interface MembershipHooks {
  /** The topics to join with (a pattern subscription's current matches). */
  subscription(): Promise<Subscription>;
  /** Partition counts of topics, for the leader's assignment; unknown topics are left out. */
  partitionCounts(topics: string[]): Promise<Record<string, number>>;
  /** Before joining again: end deliveries, commit if auto-committing, drop the partitions. */
  revoke(): Promise<void>;
  /** The new generation's partitions. */
  assign(assignment: Assignment): void;
}

export interface MembershipConfig {
  groupId: string;
  clientId: string;
  assignors: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

/** Joins that fail with a retriable error are retried this often before the rebalance gives up. */
const MAX_ATTEMPTS = 20;
const RETRY_BACKOFF_MS = 20;

/**
 * The member side of the group protocol for one consumer instance (Kafka's ConsumerCoordinator):
 * join, lead the assignment when chosen, sync, and rejoin whenever the coordinator asks (listener),
 * a heartbeat says so, or the subscription's metadata changed.
 *
 * Eager rebalancing: every rejoin first revokes all partitions (the hook commits consumed
 * positions when auto-commit is on), so a partition is never read by two members at once and its
 * next owner starts from what was committed.
 *
 * Invariant: at most one rebalance runs at a time; a request to rejoin that arrives after this
 * member's JoinGroup was sent makes the running rebalance go round once more.
 */
export class GroupMembership implements GroupMemberListener {
  memberId = '';
  generationId = -1;
  private running: Promise<void> | undefined;
  private rejoinNeeded = false;
  private left = false;
  private phase: 'idle' | 'revoking' | 'joining' = 'idle';

  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly config: MembershipConfig,
    private readonly hooks: MembershipHooks,
    private readonly logger: Logger,
  ) {}

  get rebalancing(): boolean {
    return this.running !== undefined;
  }

  /** Resolves once this member has an assignment for the current generation. */
  ensureActive(): Promise<void> {
    if (this.left) return Promise.resolve();
    if (this.running !== undefined) return this.running;
    if (this.generationId >= 0 && !this.rejoinNeeded) return Promise.resolve();
    return this.startRebalance();
  }

  /** GroupMemberListener: the coordinator prepares a rebalance. */
  onRebalance(): void {
    this.requestRejoin();
  }

  requestRejoin(): void {
    if (this.left) return;
    this.rejoinNeeded = true;
    if (this.running === undefined) void this.startRebalance().catch(() => undefined);
  }

  /** Tells the coordinator this member is alive; learns of rebalances it missed. */
  async heartbeat(): Promise<void> {
    if (this.left || this.running !== undefined || this.generationId < 0) return;
    try {
      await this.coordinator.heartbeat({ groupId: this.config.groupId, memberId: this.memberId, generationId: this.generationId });
    } catch (err) {
      if (isCoordinatorError(err, 'UNKNOWN_MEMBER_ID')) this.resetMember();
      if (isCoordinatorError(err)) this.requestRejoin();
      else throw err;
    }
  }

  /**
   * Commits (through the revoke hook) and leaves the group. A rebalance waiting in JoinGroup or
   * SyncGroup has revoked already; leaving ends its wait.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    if (this.phase === 'revoking') await this.running?.catch(() => undefined);
    if (this.phase === 'idle') await this.hooks.revoke();
    const leftAs = this.memberId;
    await this.sendLeave();
    await this.running?.catch(() => undefined);
    // A first JoinGroup still in flight when leave() began has since given this member an id: leave
    // with it too, or the coordinator keeps a member nobody will use until its session expires.
    if (this.memberId !== leftAs) await this.sendLeave();
    this.resetMember();
  }

  private async sendLeave(): Promise<void> {
    if (this.memberId === '') return;
    try {
      await this.coordinator.leaveGroup(this.config.groupId, this.memberId);
    } catch (err) {
      if (!isCoordinatorError(err)) throw err;
    }
  }

  private startRebalance(): Promise<void> {
    const run = this.rebalance().finally(() => {
      this.phase = 'idle';
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async rebalance(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !this.left; attempt++) {
      this.phase = 'revoking';
      await this.hooks.revoke();
      if (this.left) return;
      this.phase = 'joining';
      this.rejoinNeeded = false;
      try {
        const join = await this.coordinator.joinGroup({
          groupId: this.config.groupId,
          memberId: this.memberId,
          clientId: this.config.clientId,
          sessionTimeoutMs: this.config.sessionTimeoutMs,
          rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
          protocols: await this.protocols(),
          listener: this,
        });
        this.memberId = join.memberId;
        this.generationId = join.generationId;
        const assignments = join.leaderId === join.memberId ? await this.leaderAssignment(join) : [];
        const sync = await this.coordinator.syncGroup({ groupId: this.config.groupId, memberId: this.memberId, generationId: this.generationId, assignments });
        if (this.left) return;
        this.hooks.assign(sync.assignment);
        this.logger.debug({ group: this.config.groupId, member: this.memberId, generation: this.generationId, partitions: sync.assignment.partitions }, 'assigned');
        if (!this.rejoinNeeded) return;
        continue;
      } catch (err) {
        if (!isCoordinatorError(err)) throw err;
        lastError = err;
        if (err.code === 'UNKNOWN_MEMBER_ID' || err.code === 'ILLEGAL_GENERATION') this.resetMember();
        else if (err.code !== 'REBALANCE_IN_PROGRESS' && !err.retriable) throw err;
        if (err.code !== 'REBALANCE_IN_PROGRESS') await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
      }
    }
    if (lastError !== undefined && !this.left) throw lastError;
  }

  private async protocols() {
    const subscription = await this.hooks.subscription();
    return this.config.assignors.map((name) => ({ name, subscription }));
  }

  /** The leader runs the chosen assignor over every member's subscription. */
  private async leaderAssignment(join: JoinGroupResponse): Promise<Array<{ memberId: string; assignment: Assignment }>> {
    const assignor = ASSIGNORS[join.protocolName];
    if (assignor === undefined) throw new Error(`Unknown assignor '${join.protocolName}' chosen for group '${this.config.groupId}'`);
    const topics = [...new Set(join.members.flatMap((m) => m.subscription.topics))];
    const partitionCounts = await this.hooks.partitionCounts(topics);
    const result = assignor.assign(partitionCounts, new Map(join.members.map((m) => [m.memberId, m.subscription])));
    return [...result].map(([memberId, partitions]) => ({ memberId, assignment: { partitions, partitionCounts } }));
  }

  private resetMember(): void {
    this.memberId = '';
    this.generationId = -1;
  }
}
