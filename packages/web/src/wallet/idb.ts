/**
 * A tiny promise wrapper over one IndexedDB object store used as a key-value store.
 * Every `write` is one IndexedDB transaction, so its puts and deletes commit together
 * or not at all — the primitive behind the wallet's atomic database swap.
 * @module
 */

/** A key-value store in IndexedDB. Values are anything structured-clone can copy. */
export interface KvStore {
  /** The value under `key`, or undefined. */
  get<T>(key: string): Promise<T | undefined>;
  /** Applies puts and deletes in one atomic transaction; resolves once it has committed. */
  write(puts: Record<string, unknown>, deletes?: readonly string[]): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

const STORE = 'kv';

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/**
 * Opens (creating if needed) the IndexedDB database `name` with one key-value store.
 *
 * @param name - the IndexedDB database name
 * @param factory - the IndexedDB factory (the page's `indexedDB` by default)
 * @returns the store
 * @throws Error when the browser refuses storage (private mode, quota)
 * @example
 * ```ts
 * const kv = await openKv('noah-wallet');
 * await kv.write({ pointer: 'gen-2', 'gen-2': bytes }, ['gen-1']);
 * ```
 */
export function openKv(name: string, factory: IDBFactory = indexedDB): Promise<KvStore> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onerror = () => reject(req.error ?? new Error('cannot open browser storage'));
    req.onblocked = () => reject(new Error('browser storage is blocked by another tab'));
    req.onsuccess = () => {
      const db = req.result;
      resolve({
        get<T>(key: string): Promise<T | undefined> {
          return new Promise((res, rej) => {
            const r = db.transaction(STORE, 'readonly').objectStore(STORE).get(key);
            r.onsuccess = () => res(r.result as T | undefined);
            r.onerror = () => rej(r.error);
          });
        },
        write(puts, deletes = []) {
          const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
          const store = tx.objectStore(STORE);
          for (const [k, v] of Object.entries(puts)) store.put(v, k);
          for (const k of deletes) store.delete(k);
          return done(tx);
        },
        close: () => db.close(),
      });
    };
  });
}
