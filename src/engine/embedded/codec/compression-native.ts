import { EngineError } from '../../engine-error';

/**
 * Loads a codec's native package on first use and keeps it. A package whose binary is missing for
 * this platform fails with UNSUPPORTED_COMPRESSION_TYPE, the error Kafka gives for a codec the
 * broker cannot handle, and the failure is kept too, so it is not retried on every batch.
 */
export function lazyNative<T>(codec: string, load: () => T): () => T {
  let loaded: T | undefined;
  let failure: EngineError | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    if (failure !== undefined) throw failure;
    try {
      loaded = load();
      return loaded;
    } catch (err) {
      failure = new EngineError('UNSUPPORTED_COMPRESSION_TYPE', `The ${codec} codec cannot be loaded: ${(err as Error).message}`, { cause: err });
      throw failure;
    }
  };
}
