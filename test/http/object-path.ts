import type { StorageEngine } from '../../src/engine/storage-engine';

/**
 * Runs `work` with the engine's cursors hidden, so that the records routes take the object path
 * (engine.fetch's record objects, as engines without cursors answer): the reference the fused
 * path is compared with.
 */
export async function objectPath<T>(engine: StorageEngine, work: () => Promise<T>): Promise<T> {
  const holder = engine as { fetchCursors?: unknown };
  const fused = holder.fetchCursors;
  holder.fetchCursors = undefined;
  try {
    return await work();
  } finally {
    holder.fetchCursors = fused;
  }
}
