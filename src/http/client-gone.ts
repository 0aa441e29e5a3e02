import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that fires when the client goes away before the reply is sent, so long-polls
 * stop waiting for a reader that is no longer there.
 */
export function signalOnClientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) controller.abort();
  });
  return controller.signal;
}
