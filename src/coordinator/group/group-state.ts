import type { GroupStateName } from './group-coordinator';

/**
 * The group state machine as a table, Kafka's: each state lists the states it may be entered from.
 *
 *   Empty                no members; committed offsets may remain
 *   PreparingRebalance   waiting for every known member to join again
 *   CompletingRebalance  joined; waiting for the leader's assignment (SyncGroup)
 *   Stable               assignment handed out; members heartbeat
 *   Dead                 deleted; no operation succeeds
 */
export const VALID_PREVIOUS_STATES: Readonly<Record<GroupStateName, readonly GroupStateName[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export class IllegalStateTransition extends Error {
  constructor(groupId: string, from: GroupStateName, to: GroupStateName) {
    super(`Group '${groupId}' cannot go from ${from} to ${to}`);
    this.name = 'IllegalStateTransition';
  }
}

/** Throws when `to` does not list `from` among its valid previous states: a coordinator bug. */
export function assertTransition(groupId: string, from: GroupStateName, to: GroupStateName): void {
  if (!VALID_PREVIOUS_STATES[to].includes(from)) throw new IllegalStateTransition(groupId, from, to);
}
