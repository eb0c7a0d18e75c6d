/**
 * The browser's `DeviceStateStore` (contract: `../ports.ts`) over `localStorage`
 * (sequence numbers, backup status, the backup lock). Keys are namespaced with a prefix.
 *
 * `compareAndSet` is atomic within one tab only: JavaScript runs it to completion on
 * the page's single thread, but two tabs of the same origin could both take the lock.
 * For a single-tab app (the demo wallet) that is the whole scope; a multi-tab wallet
 * would take the lock with the Web Locks API (`navigator.locks.request`) instead.
 * @module
 */
import type { DeviceStateStore } from '../ports.ts';

/** The store, plus a compare-and-swap for callers that evaluate predicates elsewhere. */
export interface LocalStorageState extends DeviceStateStore {
  /**
   * Writes `value` only if the current value is still `expected` (null = absent).
   * Synchronous underneath, so atomic within this tab. Returns true if it wrote.
   */
  swap(key: string, expected: string | null, value: string): Promise<boolean>;
}

/**
 * Creates a device state store over a `Storage` (the page's `localStorage` by default).
 *
 * @param prefix - namespace for every key, e.g. `"noah."`
 * @param storage - the Storage to use
 * @returns a `DeviceStateStore` for `createBackupManager`
 * @example
 * ```ts
 * const state = createLocalStorageState('noah.');
 * await state.set('seq', '3');
 * ```
 */
export function createLocalStorageState(
  prefix = 'noah.state.',
  storage: Storage = localStorage,
): LocalStorageState {
  const k = (key: string) => prefix + key;
  return {
    async get(key) {
      return storage.getItem(k(key));
    },
    async set(key, value) {
      storage.setItem(k(key), value);
    },
    async delete(key) {
      storage.removeItem(k(key));
    },
    async compareAndSet(key, value, canReplace) {
      // Synchronous read-check-write: no other code of this tab can run in between.
      const current = storage.getItem(k(key));
      if (current !== null && !canReplace(current)) return false;
      storage.setItem(k(key), value);
      return true;
    },
    async swap(key, expected, value) {
      if (storage.getItem(k(key)) !== expected) return false;
      storage.setItem(k(key), value);
      return true;
    },
  };
}

/**
 * Removes every key under `prefix` (used when a wallet is erased from this device).
 *
 * @param prefix - the namespace given to {@link createLocalStorageState}
 * @param storage - the Storage to clear
 */
export function clearLocalStorageState(
  prefix = 'noah.state.',
  storage: Storage = localStorage,
): void {
  for (let i = storage.length - 1; i >= 0; i--) {
    const key = storage.key(i);
    if (key?.startsWith(prefix)) storage.removeItem(key);
  }
}
