/**
 * The browser's `DeviceCacheStore` (contract: `../ports.ts`) in IndexedDB, which a page
 * and its workers share (localStorage is for strings of a few megabytes, and a worker
 * cannot reach it). One record per cache; `save` is one IndexedDB transaction, committed
 * before it resolves, so a reader sees the old cache or the new one. Its content is
 * sealed by the caller (docs/FORMAT.md §8.8); IndexedDB is the origin's alone.
 * @module
 */
import type { DeviceCacheStore } from '../ports.ts';

const STORE = 'cache';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

function open(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onerror = () => reject(req.error ?? new Error('cannot open browser storage'));
    req.onblocked = () => reject(new Error('browser storage is blocked by another tab'));
    req.onsuccess = () => resolve(req.result);
  });
}

/**
 * Creates a cache store: the record `key` of the IndexedDB database `name`.
 * @param name - the IndexedDB database (opened on first use)
 * @param key - the record, e.g. one per account
 * @param factory - the IndexedDB factory (the global `indexedDB` by default, in a page or
 *   a worker)
 * @example
 * const cache = createIndexedDbCacheStore('noah-backup-cache', 'device');
 */
export function createIndexedDbCacheStore(
  name: string,
  key: string,
  factory: IDBFactory = indexedDB,
): DeviceCacheStore {
  let db: Promise<IDBDatabase> | undefined;
  const connect = () => {
    db ??= open(factory, name).catch((err: unknown) => {
      db = undefined; // a later call tries again
      throw err;
    });
    return db;
  };
  const write = async (fn: (store: IDBObjectStore) => void) => {
    const tx = (await connect()).transaction(STORE, 'readwrite', { durability: 'strict' });
    fn(tx.objectStore(STORE));
    await committed(tx);
  };
  return {
    async load() {
      const tx = (await connect()).transaction(STORE, 'readonly');
      const value: unknown = await request(tx.objectStore(STORE).get(key));
      if (value === undefined) return null;
      if (!(value instanceof Uint8Array)) return new Uint8Array(0); // opens as no cache
      return value;
    },
    // A copy: the caller may reuse its buffer, and structured clone keeps a view's whole
    // buffer, not its window.
    save: (blob) => write((s) => s.put(blob.slice(), key)),
    clear: () => write((s) => s.delete(key)),
  };
}

/**
 * Deletes every cache of the IndexedDB database `name` (a wallet erased from the device).
 * @param name - as given to {@link createIndexedDbCacheStore}
 */
export async function clearIndexedDbCaches(
  name: string,
  factory: IDBFactory = indexedDB,
): Promise<void> {
  const db = await open(factory, name);
  try {
    const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
    tx.objectStore(STORE).clear();
    await committed(tx);
  } finally {
    db.close();
  }
}
