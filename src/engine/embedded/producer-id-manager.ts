import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../engine-error';
import { CALLER_PRODUCER_ID_BASE, type ProducerIdBlock } from '../storage-engine';
import { writeFileDurably } from './offset-checkpoint-file';

/** In the data directory: the first producer id not yet handed out, as decimal text. */
export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block';

/**
 * Kafka's ProducerIdManager on the controller side: producer ids are handed out in blocks, and the
 * end of the last block is made durable (written to a temporary file, fsynced, renamed, directory
 * fsynced) before the block is given, so no id is ever given twice, also across a crash. Ids lost
 * in a crash (a block given but not used up) are simply skipped. Ids stay below
 * CALLER_PRODUCER_ID_BASE (2^52), which callers derive ids from.
 */
export class ProducerIdManager {
  private next = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataDir: string) {}

  private get file(): string {
    return path.join(this.dataDir, PRODUCER_ID_BLOCK_FILE);
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const next = Number(text.trim());
    if (!Number.isSafeInteger(next) || next < 0) throw new Error(`${this.file}: malformed producer id block '${text.trim()}'`);
    this.next = next;
  }

  /** A block of `count` ids, durable before it resolves; concurrent calls get disjoint blocks. */
  allocate(count: number): Promise<ProducerIdBlock> {
    if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
      return Promise.reject(new EngineError('INVALID_REQUEST', `A producer id block holds 1 to 1000000 ids, not ${count}`));
    }
    const run = this.chain.then(async () => {
      const first = this.next;
      const end = first + count;
      // Ids from CALLER_PRODUCER_ID_BASE up belong to callers (ids derived from Idempotency-Keys).
      if (end > CALLER_PRODUCER_ID_BASE) throw new Error(`producer ids are used up below ${CALLER_PRODUCER_ID_BASE}`);
      await writeFileDurably(this.file, `${end}\n`);
      this.next = end;
      return { firstProducerId: first, count };
    });
    this.chain = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      throw new EngineError('KAFKA_STORAGE_ERROR', `Could not persist a producer id block: ${(err as Error).message}`, { cause: err });
    });
  }
}
