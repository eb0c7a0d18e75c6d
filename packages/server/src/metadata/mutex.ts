/**
 * A tiny FIFO async mutex, for serialising writers inside one process (libsql.ts).
 * @module
 */

/** An async mutex: `lock()` resolves with a release function once the mutex is ours. */
export interface Mutex {
  /** Waits for the mutex; call the returned function exactly once to release it. */
  lock(): Promise<() => void>;
  /** Runs `fn` while holding the mutex. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Creates a FIFO mutex.
 * @example
 * const m = createMutex();
 * await m.run(async () => write());
 */
export function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve();
  const lock = (): Promise<() => void> => {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const acquired = tail.then(() => {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
      };
    });
    tail = tail.then(() => next);
    return acquired;
  };
  return {
    lock,
    async run(fn) {
      const release = await lock();
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
