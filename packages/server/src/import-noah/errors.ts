/**
 * Which store stopped `admin import-noah` (docs/OPERATIONS.md "Moving users from a Noah
 * server", exit codes): the command tells the operator what to check by it, and a
 * PostgreSQL error alone cannot say whether it came from Noah's database or this
 * server's.
 * @module
 */

/** A store the import reads or writes as a whole (one object's failure is a user's). */
export type ImportStore = 'noah_database' | 'noah_bucket' | 'database' | 'blob_store';

/** A store failed as a whole: the run stops; what was imported stays. */
export class ImportStoreError extends Error {
  /** The store that failed. */
  readonly store: ImportStore;
  constructor(store: ImportStore, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ImportStoreError';
    this.store = store;
  }
}

/**
 * Runs `fn`, naming `store` in what it throws.
 *
 * @param store - the store `fn` talks to
 * @param fn - the call
 * @returns what `fn` returns
 * @throws {ImportStoreError} what `fn` throws, with the store
 */
export async function on<T>(store: ImportStore, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof ImportStoreError ? err : new ImportStoreError(store, err);
  }
}

/**
 * `target` with every method's failure naming `store`, so no call into it can escape
 * untagged as new calls are added. `answer`: what a method throws that is not the
 * store failing (a refusal the caller handles, an argument error: a bug), passed as is.
 *
 * @param store - the store `target` talks to
 * @param target - an object whose methods all return promises
 * @param answer - true for an error that is an answer, not a failure of the store
 */
export function onEvery<T extends object>(
  store: ImportStore,
  target: T,
  answer: (err: unknown) => boolean,
): T {
  return new Proxy(target, {
    get(t, name, receiver) {
      const v: unknown = Reflect.get(t, name, receiver);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        try {
          return await v.apply(t, args);
        } catch (err) {
          throw answer(err) || err instanceof ImportStoreError
            ? err
            : new ImportStoreError(store, err);
        }
      };
    },
  });
}
