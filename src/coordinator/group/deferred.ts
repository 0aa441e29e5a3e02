/** A promise with its resolve and reject at hand: a member's pending JoinGroup or SyncGroup. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A member that left no longer awaits its promise; its rejection must not be "unhandled".
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
