import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { GroupAdmin, ResetTarget } from '../../../consumer/group-admin';
import { errorResponses } from '../../schemas';
import { GroupParams, PositionsView } from '../consumers/consumer-schemas';
import { acceptEmptyJsonBodies } from '../consumers/empty-json-body';
import { GroupDetailView, GroupOverviewView, ResetOffsetsBody } from './group-schemas';

export interface GroupRoutesOptions {
  admin: GroupAdmin;
}

/** Consumer group administration: list, describe with lag, delete when empty, reset offsets when no member is active. */
export const groupRoutes: FastifyPluginAsyncTypebox<GroupRoutesOptions> = async (app, { admin }) => {
  acceptEmptyJsonBodies(app as unknown as FastifyInstance);
  app.addSchema(GroupDetailView);

  app.get('/consumer-groups', {
    schema: { tags: ['groups'], summary: 'List consumer groups', response: { 200: Type.Array(GroupOverviewView), ...errorResponses() } },
  }, async () =>
    (await admin.list()).map((g) => ({ group_id: g.groupId, state: g.state, protocol_type: g.protocolType, members: g.members })),
  );

  app.get('/consumer-groups/:group', {
    schema: {
      tags: ['groups'],
      summary: 'Describe a group: state, members and their partitions, committed offset and lag per partition',
      params: GroupParams,
      response: { 200: Type.Ref('ConsumerGroup'), ...errorResponses(404) },
    },
  }, async (request) => {
    const g = await admin.describe(request.params.group);
    return {
      group_id: g.groupId,
      state: g.state,
      protocol_type: g.protocolType,
      protocol: g.protocol,
      generation_id: g.generationId,
      leader: g.leaderId === '' ? null : g.leaderId,
      members: g.members.map((m) => ({ member_id: m.memberId, client_id: m.clientId, subscription: m.subscription.topics, assignments: m.assignment })),
      partitions: g.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        committed_offset: p.committedOffset,
        metadata: p.metadata,
        log_end_offset: p.logEndOffset,
        lag: p.lag,
        member_id: p.memberId,
        client_id: p.clientId,
      })),
    };
  });

  app.delete('/consumer-groups/:group', {
    schema: { tags: ['groups'], summary: 'Delete a group and its committed offsets (only when it has no member)', params: GroupParams, response: { 204: Type.Null(), ...errorResponses(404, 409) } },
  }, async (request, reply) => {
    await admin.delete(request.params.group);
    return reply.status(204).send(null);
  });

  app.post('/consumer-groups/:group/offsets/reset', {
    schema: {
      tags: ['groups'],
      summary: 'Reset committed offsets to earliest, latest, a timestamp or given offsets (only when no member is active)',
      params: GroupParams,
      body: ResetOffsetsBody,
      response: { 200: PositionsView, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const { to, timestamp, topics, offsets } = request.body;
    let target: ResetTarget;
    if (to === 'timestamp') {
      if (timestamp === undefined) throw new ApiError('INVALID_REQUEST', 'to=timestamp needs a timestamp (ms since the epoch)');
      target = { timestamp };
    } else if (to === 'offsets') {
      if (offsets === undefined || offsets.length === 0) throw new ApiError('INVALID_REQUEST', 'to=offsets needs offsets: [{"topic", "partition", "offset"}]');
      target = { offsets };
    } else target = to;
    return { offsets: await admin.reset(request.params.group, target, topics) };
  });
};

