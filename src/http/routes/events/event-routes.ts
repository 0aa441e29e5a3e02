import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../../errors';
import type { IsolationLevel, StorageEngine } from '../../../engine/storage-engine';
import { topicNameProblem } from '../../../engine/topic-name';
import type { EmbeddedFormat } from '../../media-types';
import { TopicParams, errorResponses } from '../../schemas';
import { EventStreamWriter } from '../../../sse/event-stream-writer';
import type { EventStreamHub } from '../../../sse/event-stream-hub';
import { NOT_READ, TopicSet } from '../../../sse/stream-cursor';
import { offsetSpecOf, parseCursor, parseFrom, partitionCounts, resolvePositions, type StartSpec } from '../../../sse/start-position';
import { GroupStreamMember } from '../../../sse/group-stream-member';
import type { GroupCoordinator } from '../../../coordinator/group/group-coordinator';
import { isCoordinatorError } from '../../../coordinator/group/coordinator-error';
import { fromCoordinatorError } from '../../../consumer/coordinator-api-errors';
import type { Logger } from 'pino';

export interface EventRoutesOptions {
  engine: StorageEngine;
  hub: EventStreamHub;
  /** Consumer groups, for `group=`; absent where the engine serves none (kafka, for now). */
  coordinator?: GroupCoordinator;
}

const IsolationLevelSchema = Type.Union([Type.Literal('read_committed'), Type.Literal('read_uncommitted')]);

const StreamQuery = {
  from: Type.Optional(
    Type.String({ description: 'earliest, latest (default), or a timestamp: ms since the epoch or ISO 8601. Ignored with a cursor.' }),
  ),
  cursor: Type.Optional(
    Type.String({ description: "Resume cursor: an event's id. Last-Event-ID, which EventSource sends on reconnect, wins over it." }),
  ),
  format: Type.Union([Type.Literal('json'), Type.Literal('binary'), Type.Literal('string')], {
    default: 'json',
    description: 'Embedded format of key, value and headers in each event (EventSource cannot set Accept)',
  }),
  group: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: "Consumer group: streams with the same group share the partitions; starts at the group's committed offsets",
    }),
  ),
  'isolation.level': Type.Optional(IsolationLevelSchema),
  isolation_level: Type.Optional(IsolationLevelSchema),
};

const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'The id of the last event seen: resumes right after it' })),
});

const streamResponses = {
  200: {
    description:
      'text/event-stream. `event: record` (id: resume cursor, data: the record as JSON), `event: unreadable` (a record the ' +
      'format cannot show), `event: end` (last event before the server ends the stream: slow client, shutdown, error; ' +
      'its id is the resume cursor), heartbeat comments.',
    content: { 'text/event-stream': { schema: Type.String() } },
  },
  ...errorResponses(404, 406, 416, 429, 503),
};

type StreamQueryValues = {
  from?: string;
  cursor?: string;
  format: EmbeddedFormat;
  group?: string;
  'isolation.level'?: IsolationLevel;
  isolation_level?: IsolationLevel;
};

/**
 * Server-Sent Events: GET /topics/{topic}/events and GET /events?topics=a,b. Everything that can go
 * wrong with the request (unknown topic, bad cursor or `from`, too many topics or streams) is
 * answered as JSON before the stream starts; from then on the stream is the hub's.
 */
export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, { engine, hub, coordinator }) => {
  app.addHook('preClose', async () => hub.shutdown());

  app.get('/topics/:topic/events', {
    exposeHeadRoute: false,
    schema: {
      tags: ['consume'],
      summary: 'Follow a topic as Server-Sent Events',
      description: 'For EventSource. Each event id is a cursor of every partition; reconnecting with it resumes exactly.',
      params: TopicParams,
      querystring: Type.Object(StreamQuery),
      headers: StreamHeaders,
      response: streamResponses,
    },
  }, async (request, reply) => {
    await openStream(request, reply, [request.params.topic], request.query);
  });

  app.get('/events', {
    exposeHeadRoute: false,
    schema: {
      tags: ['consume'],
      summary: 'Follow several topics as one stream of Server-Sent Events',
      querystring: Type.Object({
        topics: Type.String({ minLength: 1, description: 'Topic names, comma separated' }),
        ...StreamQuery,
      }),
      headers: StreamHeaders,
      response: streamResponses,
    },
  }, async (request, reply) => {
    await openStream(request, reply, request.query.topics.split(','), request.query);
  });

  async function openStream(request: FastifyRequest, reply: FastifyReply, names: string[], query: StreamQueryValues): Promise<void> {
    assertAcceptsEventStream(request.headers.accept);
    const topics = topicSet(names, hub.settings.maxTopicsPerStream);
    const isolationLevel = query['isolation.level'] ?? query.isolation_level ?? 'read_committed';
    const start = startSpec(topics, request.headers['last-event-id'], query);
    const reservation = hub.reserve(request.ip);
    let positions;
    let member: GroupStreamMember | undefined;
    try {
      const counts = await partitionCounts(engine, topics);
      if (query.group === undefined) {
        positions = await resolvePositions(engine, topics, counts, start, isolationLevel);
      } else {
        // The group decides the partitions and where they start; they are added once assigned.
        positions = counts.map((n) => new Array<number>(n).fill(NOT_READ));
        member = await joinGroup(query.group, topics, start, isolationLevel, request.ip);
      }
    } catch (err) {
      reservation.release();
      throw err;
    }
    reply.hijack();
    const writer = new EventStreamWriter(reply.raw);
    writer.open(reply.getHeaders(), hub.settings.retryMs);
    const stream = hub.open({
      reservation,
      writer,
      topics,
      format: query.format,
      isolationLevel,
      positions,
      followNewPartitions: member === undefined,
      onEnded: member === undefined ? undefined : () => (member as GroupStreamMember).leave(),
    });
    member?.attach(stream);
  }

  /** Joins before the stream starts, so that a group refusing the member is a JSON error, not a dead stream. */
  async function joinGroup(groupId: string, topics: TopicSet, start: StartSpec, isolationLevel: IsolationLevel, client: string) {
    if (coordinator === undefined) throw new ApiError('INVALID_REQUEST', 'group= needs consumer groups, which this engine does not serve');
    const member = new GroupStreamMember({
      coordinator,
      engine,
      groupId,
      clientId: `sse ${client}`,
      topics,
      reset: offsetSpecOf(start),
      isolationLevel,
      logger: app.log as Logger,
    });
    try {
      await member.join();
    } catch (err) {
      await member.leave().catch(() => undefined);
      throw isCoordinatorError(err) ? fromCoordinatorError(err) : err;
    }
    return member;
  }
};

function assertAcceptsEventStream(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return;
  for (const entry of accept.split(',')) {
    const essence = (entry.split(';')[0] ?? '').trim().toLowerCase();
    if (essence === 'text/event-stream' || essence === 'text/*' || essence === '*/*') return;
  }
  throw new ApiError('NOT_ACCEPTABLE', `Events are text/event-stream; cannot answer in '${accept}'`);
}

function topicSet(names: string[], maxTopics: number): TopicSet {
  const trimmed = names.map((n) => n.trim());
  for (const name of trimmed) {
    const problem = topicNameProblem(name);
    if (problem !== undefined) throw new ApiError('INVALID_TOPIC_NAME', problem);
  }
  const topics = TopicSet.of(trimmed);
  if (topics.topics.length > maxTopics) {
    throw new ApiError('INVALID_REQUEST', `A stream may follow at most ${maxTopics} topics, not ${topics.topics.length}`);
  }
  return topics;
}

/** Last-Event-ID (a reconnecting EventSource) wins over `cursor=` (the URL it first opened), then `from`. */
function startSpec(topics: TopicSet, lastEventId: string | string[] | undefined, query: StreamQueryValues): StartSpec {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header !== undefined && header.trim() !== '') return parseCursor(topics, header.trim(), 'Last-Event-ID');
  if (query.cursor !== undefined) return parseCursor(topics, query.cursor, 'cursor');
  return query.from === undefined ? { kind: 'latest' } : parseFrom(query.from);
}
