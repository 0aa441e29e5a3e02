import { CoordinatorError } from './coordinator-error';
import { ConsumerGroup, CONSUMER_PROTOCOL_TYPE, type GroupContext } from './consumer-group';
import { groupMetadataRecord, offsetCommitRecord, type CoordinatorRecord } from './coordinator-records';
import type {
  CommittedOffset,
  GroupDescription,
  GroupOverview,
  OffsetAndMetadata,
  OffsetCommitRequest,
  TopicPartition,
} from './group-coordinator';

/** Kafka's offset.metadata.max.bytes. */
export const MAX_OFFSET_METADATA_BYTES = 4096;

/**
 * An operation's outcome as Kafka's coordinators give it: the records to append, and the response,
 * computed once they are written (and replayed into the state). `onFailure` undoes what the
 * operation did in memory before its write (only deletion marks a group Dead up front).
 */
export interface CoordinatorResult<T> {
  records: CoordinatorRecord[];
  response: () => T;
  onFailure?: (err: unknown) => void;
}

/**
 * The state of the groups whose id hashes to one `__consumer_offsets` partition: their membership
 * (ConsumerGroup) and their committed offsets. Committed offsets and group deletions change only by
 * `replay` of written records, the same path that rebuilds the state at start, so memory never
 * claims more than the log holds.
 */
export class GroupCoordinatorShard {
  private readonly groups = new Map<string, ConsumerGroup>();
  /** group -> "topic\0partition" -> committed offset */
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();

  constructor(readonly partition: number, private readonly ctx: GroupContext) {}

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  /** The live group, created Empty if unknown; a deleted (Dead) group is replaced once its deletion is written. */
  groupForJoin(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new ConsumerGroup(groupId, this.ctx);
      this.groups.set(groupId, group);
    }
    return group;
  }

  exists(groupId: string): boolean {
    return this.groups.has(groupId) || this.offsets.has(groupId);
  }

  commitOffsets(req: OffsetCommitRequest): CoordinatorResult<void> {
    for (const o of req.offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new CoordinatorError('INVALID_COMMIT_OFFSET_SIZE', `Offset ${o.offset} for ${o.topic}-${o.partition} is not a valid offset`);
      }
      if (Buffer.byteLength(o.metadata, 'utf8') > MAX_OFFSET_METADATA_BYTES) {
        throw new CoordinatorError('OFFSET_METADATA_TOO_LARGE', `Offset metadata for ${o.topic}-${o.partition} is longer than ${MAX_OFFSET_METADATA_BYTES} bytes`);
      }
    }
    const group = this.groups.get(req.groupId);
    if (group !== undefined) group.validateCommit(req.memberId, req.generationId);
    else if (req.memberId !== '' || req.generationId >= 0) {
      throw new CoordinatorError('UNKNOWN_MEMBER_ID', `Member '${req.memberId}' is not in group '${req.groupId}'`);
    }
    return { records: this.commitRecords(req.groupId, req.offsets), response: () => undefined };
  }

  /** The offsets of a committed transaction, checked when they were sent (see validateTxnOffsetCommit). */
  commitTxnOffsets(groupId: string, offsets: OffsetAndMetadata[]): CoordinatorResult<void> {
    return { records: this.commitRecords(groupId, offsets), response: () => undefined };
  }

  fetchOffsets(groupId: string, partitions?: TopicPartition[]): CommittedOffset[] {
    const committed = this.offsets.get(groupId);
    if (partitions === undefined) return committed === undefined ? [] : sortOffsets([...committed.values()]);
    return partitions.map(
      (tp) => committed?.get(tpKey(tp.topic, tp.partition)) ?? { topic: tp.topic, partition: tp.partition, offset: -1, metadata: '', commitTimestamp: -1 },
    );
  }

  /** DeleteGroups: an empty group goes Dead at once (joins are refused), and is gone once the tombstones are written. */
  deleteGroup(groupId: string): CoordinatorResult<void> {
    if (!this.exists(groupId)) throw new CoordinatorError('GROUP_ID_NOT_FOUND', `Group '${groupId}' not found`);
    const group = this.groups.get(groupId);
    if (group !== undefined && (group.size > 0 || group.state !== 'Empty')) {
      throw new CoordinatorError('NON_EMPTY_GROUP', `Group '${groupId}' has ${group.size} active member(s) (${group.state}); delete it once they have left`);
    }
    const records = [...(this.offsets.get(groupId)?.values() ?? [])].map((o) => offsetCommitRecord(groupId, o.topic, o.partition, null));
    records.push(groupMetadataRecord(groupId, null));
    group?.markDead();
    return {
      records,
      response: () => undefined,
      onFailure: () => {
        // The deletion did not happen: forget the Dead shell, the next join starts a fresh group.
        if (this.groups.get(groupId) === group) this.groups.delete(groupId);
      },
    };
  }

  /** Overwrites committed offsets, only while no member is active (as kafka-consumer-groups --reset-offsets). */
  resetOffsets(groupId: string, offsets: OffsetAndMetadata[]): CoordinatorResult<void> {
    const group = this.groups.get(groupId);
    if (group !== undefined && (group.size > 0 || group.state === 'Dead')) {
      throw new CoordinatorError('NON_EMPTY_GROUP', `Group '${groupId}' has ${group.size} active member(s) (${group.state}); reset offsets once they have left`);
    }
    return this.commitOffsets({ groupId, memberId: '', generationId: -1, offsets });
  }

  /** Applies one written record: at start for every record of the partition, then after each write. */
  replay(record: CoordinatorRecord): void {
    if (record.type === 'offset-commit') {
      const key = tpKey(record.topic, record.partition);
      if (record.value === null) {
        const committed = this.offsets.get(record.group);
        committed?.delete(key);
        if (committed?.size === 0) this.offsets.delete(record.group);
        return;
      }
      let committed = this.offsets.get(record.group);
      if (committed === undefined) {
        committed = new Map();
        this.offsets.set(record.group, committed);
      }
      committed.set(key, { topic: record.topic, partition: record.partition, offset: record.value.offset, metadata: record.value.metadata, commitTimestamp: record.value.commitTimestamp });
      return;
    }
    if (record.value === null) {
      const group = this.groups.get(record.group);
      if (group !== undefined && group.size === 0) {
        if (group.state !== 'Dead') group.markDead();
        this.groups.delete(record.group);
      }
      return;
    }
    this.groupForJoin(record.group).loadPersisted(record.value);
  }

  describe(groupId: string): GroupDescription {
    if (!this.exists(groupId)) throw new CoordinatorError('GROUP_ID_NOT_FOUND', `Group '${groupId}' not found`);
    const group = this.groups.get(groupId);
    return {
      groupId,
      state: group?.state ?? 'Empty',
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocol: group?.protocolName ?? '',
      generationId: group?.generationId ?? 0,
      leaderId: group?.leaderId ?? '',
      members: group?.describeMembers() ?? [],
      offsets: this.fetchOffsets(groupId),
    };
  }

  list(): GroupOverview[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.keys()]);
    return [...ids].map((groupId) => {
      const group = this.groups.get(groupId);
      return { groupId, state: group?.state ?? 'Empty', protocolType: CONSUMER_PROTOCOL_TYPE, members: group?.size ?? 0 };
    });
  }

  /**
   * Kafka's offsets retention (offsets.retention.minutes): the offsets of a group with members never
   * expire; those of an empty group expire once it has been empty for `retentionMs` and the offset
   * was not committed within it either (a group without group management - a consumer that assigns
   * its partitions itself - by commit time alone). A group left with neither offsets nor members is
   * deleted as DeleteGroups would. The results write tombstones, so a restart does not bring the
   * offsets back. Groups `busy` names (a write in flight) are left to the next pass: a tombstone
   * must not overtake a commit appended before it.
   */
  expireOffsets(now: number, retentionMs: number, busy: (groupId: string) => boolean): CoordinatorResult<void>[] {
    const results: CoordinatorResult<void>[] = [];
    for (const groupId of new Set([...this.groups.keys(), ...this.offsets.keys()])) {
      const group = this.groups.get(groupId);
      if (busy(groupId) || (group !== undefined && (group.size > 0 || group.state !== 'Empty'))) continue;
      const emptySince = group?.stateTimestamp ?? Number.NEGATIVE_INFINITY;
      const committed = [...(this.offsets.get(groupId)?.values() ?? [])];
      const expired = committed.filter((o) => now - Math.max(emptySince, o.commitTimestamp) >= retentionMs);
      if (expired.length === committed.length && now - emptySince >= retentionMs) results.push(this.deleteGroup(groupId));
      else if (expired.length > 0) {
        results.push({ records: expired.map((o) => offsetCommitRecord(groupId, o.topic, o.partition, null)), response: () => undefined });
      }
    }
    return results;
  }

  /** After load: groups that lost their members with the previous run record that they are empty. */
  settleLoaded(): void {
    for (const group of this.groups.values()) group.settleLoaded();
  }

  expireMembers(now: number): void {
    for (const group of this.groups.values()) group.expireMembers(now);
  }

  shutdown(): void {
    for (const group of this.groups.values()) group.shutdown();
  }

  private commitRecords(groupId: string, offsets: OffsetAndMetadata[]): CoordinatorRecord[] {
    const now = this.ctx.now();
    return offsets.map((o) => offsetCommitRecord(groupId, o.topic, o.partition, { offset: o.offset, metadata: o.metadata, commitTimestamp: now }));
  }
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function sortOffsets(offsets: CommittedOffset[]): CommittedOffset[] {
  return offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
