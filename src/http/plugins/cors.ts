import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

export interface CorsOptions {
  /** Origins as browsers send them (scheme://host[:port]); '*' allows any origin. */
  allowedOrigins: readonly string[];
}

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE';
/** Response headers a page may read besides the CORS-safelisted ones. */
const EXPOSE_HEADERS = 'Location, Retry-After';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * CORS for browser pages on other origins (an EventSource, a fetch), by allow-list. An allowed
 * Origin is echoed back with `Vary: Origin`, so caches keep one answer per origin; an origin listed
 * by name may also send credentials (cookies, EventSource withCredentials), one allowed only through
 * '*' may not. Preflights (OPTIONS with Access-Control-Request-Method) are answered here with 204,
 * for every path. An origin not on the list gets no CORS headers, so the browser keeps the answer
 * from the page. With an empty list the plugin adds nothing.
 */
export const corsPlugin = fp(
  async (app: FastifyInstance, { allowedOrigins }: CorsOptions) => {
    if (allowedOrigins.length === 0) return;
    const anyOrigin = allowedOrigins.includes('*');
    const listed = new Set(allowedOrigins.filter((o) => o !== '*').map(normalizeOrigin));

    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined) return;
      reply.header('vary', 'Origin');
      const named = listed.has(normalizeOrigin(origin));
      if (!named && !anyOrigin) return;
      reply.header('access-control-allow-origin', origin);
      if (named) reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-expose-headers', EXPOSE_HEADERS);
      if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return;
      reply.header('access-control-allow-methods', ALLOW_METHODS);
      const asked = request.headers['access-control-request-headers'];
      if (asked !== undefined) reply.header('access-control-allow-headers', asked);
      reply.header('access-control-max-age', PREFLIGHT_MAX_AGE_S);
      return reply.status(204).send();
    });
  },
  { name: 'basket-cors', fastify: '5.x' },
);

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
