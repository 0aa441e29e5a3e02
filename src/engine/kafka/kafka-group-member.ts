import type { Logger } from 'pino';
import { CoordinatorError, isCoordinatorError } from '../../coordinator/group/coordinator-error';
import { isEngineError } from '../engine-error';
import type { GroupMemberListener, JoinGroupRequest } from '../../coordinator/group/group-coordinator';
import { delay } from './delay';
import type { KafkaGroupConnection } from './kafka-group-connection';
import { encodeSubscription } from './kafka-group-protocol';
import type { KjsJoinGroupResponse } from './kafkajs-internals';

export interface KafkaGroupMemberDeps {
  /** The connection shared by all members, for heartbeats. */
  shared: KafkaGroupConnection;
  /** This member's own connection, for JoinGroup and SyncGroup, which wait at the coordinator. */
  channel: KafkaGroupConnection;
  logger: Logger;
  now: () => number;
  /** The member's session (as the consumer layer asked for it) ran out and it left the group. */
  onExpired: () => void;
}

export interface KafkaSessionSettings {
  /** The session timeout sent to Kafka. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

/** Heartbeat answers that mean the member must join again. */
const REJOIN = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * One member of a Kafka consumer group, on behalf of one GroupMemberListener (a consumer instance's
 * or an SSE stream's membership). Kafka tells members of a rebalance only in heartbeat answers, so
 * between a SyncGroup and the next JoinGroup a loop heartbeats every `heartbeatIntervalMs` and turns
 * REBALANCE_IN_PROGRESS (or a lost generation or membership) into `listener.onRebalance()`, which
 * is how the embedded coordinator reaches its members too.
 *
 * Two sessions: Kafka's (`sessionTimeoutMs` of KafkaSessionSettings, short, kept by the loop, so a
 * dead Basket process frees its partitions quickly) and the one the consumer layer asked for in
 * JoinGroup (kept by its calls: join, sync, heartbeat, commit). When the latter runs out the loop
 * leaves the group, as the embedded coordinator expires such a member; without that, a member its
 * owner forgot (e.g. one that left while its first join was in flight, before it had an id to
 * leave with) would be kept alive by the loop for as long as the process runs.
 */
export class KafkaGroupMember {
  memberId = '';
  generationId = -1;
  /** The topics of this member's last JoinGroup (for partition counts when another client leads). */
  topics: string[] = [];
  private requestedSessionMs = 0;
  private lastTouched: number;
  private beating: AbortController | undefined;
  private closed = false;
  /** Between the start of a JoinGroup and the SyncGroup that follows it being sent (or the join failing). */
  private rebalancing = false;
  private syncSentWaiters: Array<() => void> = [];

  constructor(
    readonly groupId: string,
    readonly listener: GroupMemberListener,
    private readonly settings: KafkaSessionSettings,
    private readonly deps: KafkaGroupMemberDeps,
  ) {
    this.lastTouched = deps.now();
  }

  /** The consumer layer used this member: its session goes on. */
  touch(): void {
    this.lastTouched = this.deps.now();
  }

  /** Resolves once this member, if it is in a rebalance, has sent its SyncGroup or failed. */
  whenSyncSent(): Promise<void> {
    if (!this.rebalancing) return Promise.resolve();
    return new Promise((resolve) => this.syncSentWaiters.push(resolve));
  }

  async join(request: JoinGroupRequest): Promise<KjsJoinGroupResponse> {
    this.stopHeartbeats();
    this.touch();
    this.rebalancing = true;
    try {
      return await this.sendJoin(request);
    } catch (err) {
      this.syncSent();
      throw err;
    }
  }

  private async sendJoin(request: JoinGroupRequest): Promise<KjsJoinGroupResponse> {
    this.requestedSessionMs = request.sessionTimeoutMs;
    this.topics = request.protocols[0]?.subscription.topics ?? [];
    const groupProtocols = request.protocols.map((p) => ({ name: p.name, metadata: encodeSubscription(p.subscription) }));
    const response = await this.deps.channel.onCoordinator(this.groupId, `join group '${this.groupId}'`, (broker) =>
      broker.joinGroup({
        groupId: this.groupId,
        sessionTimeout: Math.min(request.sessionTimeoutMs, this.settings.sessionTimeoutMs),
        rebalanceTimeout: request.rebalanceTimeoutMs,
        memberId: request.memberId,
        protocolType: 'consumer',
        groupProtocols,
      }),
    );
    this.touch();
    this.memberId = response.memberId;
    this.generationId = response.generationId;
    return response;
  }

  async sync(generationId: number, groupAssignment: Array<{ memberId: string; memberAssignment: Buffer }>): Promise<Buffer> {
    this.touch();
    const context = `sync group '${this.groupId}'`;
    const response = await this.deps.channel
      .onCoordinator(this.groupId, context, (broker) => {
        const sent = broker.syncGroup({ groupId: this.groupId, generationId, memberId: this.memberId, groupAssignment });
        this.syncSent();
        return sent;
      })
      .catch((err: unknown) => {
        // librdkafka's mock coordinator ends a sync once the leader's assignment is in, and refuses a
        // follower's SyncGroup that comes later with INVALID_REQUEST; joining again recovers.
        if (isEngineError(err) && err.code === 'INVALID_REQUEST') {
          throw new CoordinatorError('REBALANCE_IN_PROGRESS', `${context}: refused (${err.message}); joining again`, { cause: err });
        }
        throw err;
      });
    this.touch();
    if (!this.closed) this.startHeartbeats();
    return response.memberAssignment;
  }

  async heartbeat(generationId: number): Promise<void> {
    this.touch();
    await this.deps.shared.onCoordinator(this.groupId, `heartbeat to group '${this.groupId}'`, (broker) =>
      broker.heartbeat({ groupId: this.groupId, groupGenerationId: generationId, memberId: this.memberId }),
    );
  }

  /** Stops heartbeating and drops the member's connection, which ends a JoinGroup or SyncGroup it waits in. */
  async close(): Promise<void> {
    this.closed = true;
    this.syncSent();
    this.stopHeartbeats();
    await this.deps.channel.close();
  }

  private syncSent(): void {
    this.rebalancing = false;
    for (const resolve of this.syncSentWaiters.splice(0)) resolve();
  }

  stopHeartbeats(): void {
    this.beating?.abort();
    this.beating = undefined;
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    const control = new AbortController();
    this.beating = control;
    void this.heartbeatLoop(control.signal, this.generationId);
  }

  private async heartbeatLoop(signal: AbortSignal, generationId: number): Promise<void> {
    for (;;) {
      await delay(this.settings.heartbeatIntervalMs, signal);
      if (signal.aborted) return;
      if (this.deps.now() - this.lastTouched > this.requestedSessionMs) {
        this.deps.logger.info({ group: this.groupId, member: this.memberId }, 'member session expired: not used within its session timeout; leaving the group');
        this.stopHeartbeats();
        // As an expired member of the embedded coordinator: its owner, if any, learns from its next
        // heartbeat (UNKNOWN_MEMBER_ID) and joins again.
        await this.sendLeave();
        this.deps.onExpired();
        return;
      }
      try {
        await this.deps.shared.onCoordinator(this.groupId, `heartbeat to group '${this.groupId}'`, (broker) =>
          broker.heartbeat({ groupId: this.groupId, groupGenerationId: generationId, memberId: this.memberId }),
        );
      } catch (err) {
        if (signal.aborted) return;
        if (isCoordinatorError(err) && REJOIN.has(err.code)) {
          this.deps.logger.debug({ group: this.groupId, member: this.memberId, code: err.code }, 'rebalance: rejoining');
          this.stopHeartbeats();
          this.listener.onRebalance();
          return;
        }
        // The coordinator is unreachable or moved: keep trying; Kafka's session covers the gap.
        this.deps.logger.debug({ err, group: this.groupId, member: this.memberId }, 'heartbeat failed');
      }
    }
  }

  async sendLeave(): Promise<void> {
    if (this.memberId === '') return;
    try {
      await this.deps.shared.onCoordinator(this.groupId, `leave group '${this.groupId}'`, (broker) => broker.leaveGroup({ groupId: this.groupId, memberId: this.memberId }));
    } catch (err) {
      // Already gone (expired, removed by a rebalance) is what leaving wants.
      this.deps.logger.debug({ err, group: this.groupId, member: this.memberId }, 'leave group failed');
    }
  }
}
