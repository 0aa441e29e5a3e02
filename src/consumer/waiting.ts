/**
 * Bounded waits for long-polls. Each ends on its deadline or an abort signal, never by polling.
 */

/** Whether `promise` settled by `deadline` (epoch ms); its rejection is rethrown. */
export async function withDeadline(promise: Promise<unknown>, deadline: number, signal?: AbortSignal): Promise<boolean> {
  const ms = deadline - Date.now();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
    if (signal !== undefined) {
      onAbort = () => resolve(false);
      if (signal.aborted) resolve(false);
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleepUntilAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
