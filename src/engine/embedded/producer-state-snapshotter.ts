import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
import { deleteSnapshot, encodeSnapshot, listSnapshotOffsets, snapshotFile, writeSnapshot } from './producer-state-snapshot';
import type { ProducerStateManager } from './producer-state-manager';

/** Snapshots kept per partition: a crash that truncates past the newest falls back to an older one. */
const SNAPSHOTS_TO_KEEP = 3;

/**
 * Takes a partition's producer state snapshots (at each segment roll and at close, as Kafka does).
 * The state is serialized synchronously, at the offset it covers, so appends that follow do not
 * leak into it; the file is then written in the background, one at a time, and older snapshots
 * beyond the last SNAPSHOTS_TO_KEEP are deleted. A failed write is logged: the snapshot is an
 * optimisation of start-up, the log stays the truth.
 */
export class ProducerStateSnapshotter {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly manager: ProducerStateManager,
    private readonly expirationMs: number,
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  /** Snapshot of the state as it is now, covering every batch below `offset`. */
  take(offset: number, now: number): Promise<void> {
    this.manager.removeExpired(now, this.expirationMs);
    const bytes = encodeSnapshot(this.manager.entries());
    const run = this.chain.then(async () => {
      // The log has not moved since that snapshot (a restart without appends): it already says this.
      if (existsSync(snapshotFile(this.dir, offset))) return;
      await writeSnapshot(this.dir, offset, bytes);
      const offsets = await listSnapshotOffsets(this.dir);
      for (const old of offsets.slice(0, Math.max(0, offsets.length - SNAPSHOTS_TO_KEEP))) await deleteSnapshot(this.dir, old);
    });
    this.chain = run.catch((err: unknown) => this.logger.warn({ err, partition: this.name, offset }, 'producer state snapshot failed'));
    return this.chain;
  }

  whenIdle(): Promise<void> {
    return this.chain;
  }
}
