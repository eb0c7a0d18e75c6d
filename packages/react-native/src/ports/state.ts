/**
 * The React Native `DeviceStateStore` and `DeviceCacheStore` (contracts:
 * `@noah-backup/client/ports`) in one SQLite database of the SDK's own, on op-sqlite:
 * the app's private storage, a committed write survives the app's death, and a read sees
 * the old value or the new. MMKV would do for the strings, but the page-digest cache is
 * a blob of megabytes, and op-sqlite is already the wallet adapter's engine.
 *
 * Atomicity: one JavaScript runtime uses the store. Its operations run one after the
 * other on one connection (a queue here: op-sqlite queues its own transactions on a
 * phone, its Node build does not), and `compareAndSet` reads and writes inside one
 * transaction, so of racing calls exactly one sees the key absent.
 * @module
 */
import type { DeviceCacheStore, DeviceStateStore } from '@noah-backup/client/ports';
import type { OpSqliteDB, OpSqliteScalar } from './op-sqlite.ts';

/** The store of one database: the state and, per account name, the device cache. */
export interface OpSqliteStateStore extends DeviceStateStore {
  /** The device cache of `account` (docs/FORMAT.md §8.8), in the same database. */
  cache(account: string): DeviceCacheStore;
}

/** Bytes of a BLOB as op-sqlite returns it (an ArrayBuffer; a Buffer in its Node build). */
function bytesOf(value: OpSqliteScalar | undefined): Uint8Array | null {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  return null;
}

/**
 * Creates the store in the database `db` (opened by the app on a file of the SDK's own,
 * e.g. `open({ name: 'noah-state.sqlite' })`), making its tables if needed.
 *
 * @param db - an op-sqlite connection the store may use alone
 * @returns the state store, with `cache(account)` for the device cache
 * @example
 * ```ts
 * const state = await createOpSqliteState(open({ name: 'noah-state.sqlite' }));
 * const manager = createBackupManager({ state, cache: state.cache(accountId), … });
 * ```
 */
export async function createOpSqliteState(db: OpSqliteDB): Promise<OpSqliteStateStore> {
  await db.execute(
    'CREATE TABLE IF NOT EXISTS noah_state (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)',
  );
  await db.execute(
    'CREATE TABLE IF NOT EXISTS noah_cache (account TEXT PRIMARY KEY NOT NULL, blob BLOB NOT NULL)',
  );
  let tail: Promise<unknown> = Promise.resolve();
  /** Runs `op` after every operation queued before it. */
  const queued = <T>(op: () => Promise<T>): Promise<T> => {
    const run = tail.then(op, op);
    tail = run.catch(() => undefined);
    return run;
  };
  const put =
    'INSERT INTO noah_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';
  return {
    get: (key) =>
      queued(async () => {
        const { rows } = await db.execute('SELECT value FROM noah_state WHERE key = ?', [key]);
        const v = rows[0]?.value;
        return typeof v === 'string' ? v : null;
      }),
    set: (key, value) =>
      queued(async () => {
        await db.execute(put, [key, value]);
      }),
    delete: (key) =>
      queued(async () => {
        await db.execute('DELETE FROM noah_state WHERE key = ?', [key]);
      }),
    compareAndSet: (key, value, canReplace) =>
      queued(async () => {
        let wrote = false;
        await db.transaction(async (tx) => {
          const { rows } = await tx.execute('SELECT value FROM noah_state WHERE key = ?', [key]);
          const current = rows[0]?.value;
          if (typeof current === 'string' && !canReplace(current)) return;
          await tx.execute(put, [key, value]);
          wrote = true;
        });
        return wrote;
      }),
    cache: (account) => ({
      load: () =>
        queued(async () => {
          const { rows } = await db.execute('SELECT blob FROM noah_cache WHERE account = ?', [
            account,
          ]);
          return bytesOf(rows[0]?.blob);
        }),
      save: (blob) =>
        queued(async () => {
          // One statement: a reader sees the old blob or the new one.
          await db.execute(
            'INSERT INTO noah_cache (account, blob) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET blob = excluded.blob',
            [account, blob.slice().buffer],
          );
        }),
      clear: () =>
        queued(async () => {
          await db.execute('DELETE FROM noah_cache WHERE account = ?', [account]);
        }),
    }),
  };
}
