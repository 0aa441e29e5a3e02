import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { get, post, JSON_V2 } from '../helper';

export const V2 = 'application/vnd.kafka.v2+json';

/** A consumer instance driven through the HTTP API (inject), as a client of the v2 API would. */
export class ConsumerClient {
  readonly base: string;
  readonly delivered: Array<{ partition: number; offset: number; value: unknown }> = [];

  private constructor(private readonly app: FastifyInstance, readonly group: string, readonly name: string) {
    this.base = `/consumers/${group}/instances/${name}`;
  }

  static async create(app: FastifyInstance, group: string, name: string, config: Record<string, unknown> = {}): Promise<ConsumerClient> {
    const res = await post(app, `/consumers/${group}`, { name, format: 'json', 'auto.offset.reset': 'earliest', ...config }, V2);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return new ConsumerClient(app, group, name);
  }

  async subscribe(topics: string[]): Promise<void> {
    const res = await post(this.app, `${this.base}/subscription`, { topics }, V2);
    assert.equal(res.status, 204, JSON.stringify(res.body));
  }

  async assignment(): Promise<number[]> {
    const res = await get(this.app, `${this.base}/assignments`);
    return res.body.partitions.map((p: { partition: number }) => p.partition).sort();
  }

  /** One GET records; what it returns is recorded as delivered to this instance. */
  async poll(timeoutMs: number): Promise<Array<{ partition: number; offset: number; value: unknown }>> {
    const res = await get(this.app, `${this.base}/records?timeout=${timeoutMs}`, { accept: JSON_V2 });
    assert.equal(res.status, 200, `${this.name}: ${JSON.stringify(res.body)}`);
    const records = res.body.map((r: any) => ({ partition: r.partition, offset: r.offset, value: r.value }));
    this.delivered.push(...records);
    return records;
  }

  async delete(): Promise<void> {
    const res = await this.app.inject({ method: 'DELETE', url: this.base, headers: { 'content-type': V2 } });
    assert.equal(res.statusCode, 204, res.body);
  }
}

/** Produces `count` records to each partition of a topic; values are "p<partition>-<n>". */
export async function produceToEach(app: FastifyInstance, topic: string, partitions: number, count: number, tag: string): Promise<number> {
  for (let p = 0; p < partitions; p++) {
    const records = Array.from({ length: count }, (_, i) => ({ value: `${tag}-p${p}-${i}`, partition: p }));
    const res = await post(app, `/topics/${topic}`, { records });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  return partitions * count;
}

/** Polls until `condition` holds, bounded by a deadline; fails with `what` otherwise. */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every record delivered to the clients, checked for duplicates, as "partition:offset". */
export function deliveredOnce(clients: ConsumerClient[]): Set<string> {
  const seen = new Set<string>();
  for (const c of clients) {
    for (const r of c.delivered) {
      const key = `${r.partition}:${r.offset}`;
      assert.ok(!seen.has(key), `record ${key} delivered twice (again to ${c.name})`);
      seen.add(key);
    }
  }
  return seen;
}
