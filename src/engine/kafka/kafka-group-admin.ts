import { CoordinatorError, isCoordinatorError } from '../../coordinator/group/coordinator-error';
import type { CommittedOffset, GroupDescription, GroupOverview, GroupStateName, MemberDescription } from '../../coordinator/group/group-coordinator';
import type { KafkaGroupConnection } from './kafka-group-connection';
import { toGroupError } from './kafka-group-errors';
import { decodeAssignment, decodeSubscription } from './kafka-group-protocol';
import { API_KEYS, type KjsDescribedGroup } from './kafkajs-internals';

/**
 * Group administration on Kafka's own APIs: DescribeGroups (members and their assignments),
 * ListGroups (asked of every broker, since each lists the groups it coordinates), DeleteGroups.
 * A cluster that does not offer one of them (librdkafka's mock cluster offers none) fails the call
 * at once with UNSUPPORTED_VERSION naming the API, rather than after kafkajs's retries.
 *
 * DescribeGroups reports neither the generation nor the leader, so a description from here has
 * generation -1 and leader ''.
 */
const STATES: Readonly<Record<string, GroupStateName>> = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  AwaitingSync: 'CompletingRebalance', // the name before Kafka 2.0
  Stable: 'Stable',
  Dead: 'Dead',
};

export class KafkaGroupAdmin {
  constructor(
    private readonly connection: KafkaGroupConnection,
    /** Every committed offset of a group (OffsetFetch for all partitions). */
    private readonly committedOffsets: (groupId: string) => Promise<CommittedOffset[]>,
  ) {}

  async describe(groupId: string): Promise<GroupDescription> {
    const group = await this.describeRaw(groupId);
    const offsets = await this.committedOffsets(groupId);
    const state = STATES[group.state] ?? 'Dead';
    if (state === 'Dead' && offsets.length === 0) throw new CoordinatorError('GROUP_ID_NOT_FOUND', `Group '${groupId}' not found`);
    return {
      groupId,
      state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      generationId: -1,
      leaderId: '',
      members: group.members.map((m) => describeMember(m, group.protocolType)),
      offsets,
    };
  }

  async list(): Promise<GroupOverview[]> {
    await this.connection.requireApi(API_KEYS.ListGroups, 'ListGroups');
    await this.connection.requireApi(API_KEYS.DescribeGroups, 'DescribeGroups');
    const answers = await this.connection.onEveryBroker('list groups', (broker) => broker.listGroups());
    const ids = [...new Set(answers.flatMap((a) => a.groups.map((g) => g.groupId)))].sort();
    // A group deleted between the two requests is left out.
    const described = await Promise.all(ids.map((id) => this.describeRaw(id).catch((err: unknown) => (isCoordinatorError(err, 'GROUP_ID_NOT_FOUND') ? undefined : Promise.reject(err)))));
    return described
      .filter((g) => g !== undefined)
      .map((g) => ({ groupId: g.groupId, state: STATES[g.state] ?? 'Dead', protocolType: g.protocolType, members: g.members.length }))
      .filter((g) => g.state !== 'Dead');
  }

  async delete(groupId: string): Promise<void> {
    await this.connection.requireApi(API_KEYS.DeleteGroups, 'DeleteGroups');
    const response = await this.connection.onCoordinator(groupId, `delete group '${groupId}'`, (broker) => broker.deleteGroups([groupId]));
    const error = response.results.find((r) => r.groupId === groupId)?.error;
    if (error !== undefined) throw toGroupError(error, `delete group '${groupId}'`);
  }

  private async describeRaw(groupId: string): Promise<KjsDescribedGroup> {
    await this.connection.requireApi(API_KEYS.DescribeGroups, 'DescribeGroups');
    const response = await this.connection.onCoordinator(groupId, `describe group '${groupId}'`, (broker) => broker.describeGroups({ groupIds: [groupId] }));
    const group = response.groups.find((g) => g.groupId === groupId);
    if (group === undefined) throw new CoordinatorError('GROUP_ID_NOT_FOUND', `Group '${groupId}' not found`);
    return group;
  }
}

/** Subscriptions and assignments are readable only in groups of Kafka's consumer protocol. */
function describeMember(m: KjsDescribedGroup['members'][number], protocolType: string): MemberDescription {
  const unreadable = { memberId: m.memberId, clientId: m.clientId, subscription: { topics: [] }, assignment: [] };
  if (protocolType !== 'consumer') return unreadable;
  try {
    return { ...unreadable, subscription: decodeSubscription(m.memberMetadata), assignment: decodeAssignment(m.memberAssignment).partitions };
  } catch {
    return unreadable; // a client that wrote something else under the consumer protocol type
  }
}
