/**
 * Child process for the kill -9 test (log-loader.test.ts): appends acks=-1 records from several
 * concurrent producers and prints `producer offset` for each acknowledged append, until killed.
 * Usage: node crash-writer.js <dataDir>
 */
import pino from 'pino';
import { EmbeddedEngine } from '../../../src/engine/embedded/embedded-engine';

const PRODUCERS = 8;

async function main(): Promise<void> {
  const engine = new EmbeddedEngine({ dataDir: process.argv[2] }, pino({ level: 'silent' }));
  await engine.start();
  if ((await engine.partitionCount('crash')) === undefined) {
    await engine.createTopic({ name: 'crash', configs: { 'segment.bytes': '4096', 'index.interval.bytes': '256' } });
  }
  const producer = async (p: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const r = await engine.append('crash', 0, [{ key: null, value: Buffer.from(`${p}-${i}`) }], { acks: -1 });
      process.stdout.write(`${p} ${r.lastOffset}\n`);
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
