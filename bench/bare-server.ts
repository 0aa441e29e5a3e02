import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

/**
 * The baseline for the produce benchmark: a bare Fastify route that receives and parses the same
 * body (same content types) and answers a produce-shaped response, storing nothing. Run as its own
 * process: node dist/bench/bare-server.js PORT. With PORT 0 it listens on a free port and, when
 * forked, sends that port to its parent ({ port }) instead of the parent polling a fixed one.
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 8090);
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(/^application\/vnd\.kafka(\.[a-z]+)?\.v[23]\+json$/, { parseAs: 'string' }, parse);
  let offset = 0;
  app.post('/topics/:topic', async (request) => {
    const records = (request.body as { records: unknown[] }).records;
    const offsets = records.map(() => ({ partition: 0, offset: offset++, timestamp: Date.now(), error_code: null, error: null }));
    return { offsets, key_schema_id: null, value_schema_id: null };
  });
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write('ready\n');
  process.send?.({ port: (app.server.address() as AddressInfo).port });
  // forked: a parent that dies (or ends without a word) takes it along
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
