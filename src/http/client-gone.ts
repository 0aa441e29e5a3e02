import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal for a long-poll: fires when the client goes away before the reply is sent (no
 * reader left to wait for), or when `also` fires (the server is shutting down).
 */
export function signalOnClientGone(reply: FastifyReply, also?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  // A client gone before the listener is attached never fires 'close' again.
  if (reply.raw.socket === null || reply.raw.socket.destroyed) controller.abort();
  else {
    reply.raw.once('close', () => {
      if (!reply.raw.writableEnded) controller.abort();
    });
  }
  if (also === undefined) return controller.signal;
  return AbortSignal.any([controller.signal, also]);
}
