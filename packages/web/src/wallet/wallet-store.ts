/**
 * The demo wallet's local data: an SQLite database (sql.js) with a `payments` table,
 * plus a small settings object, persisted in IndexedDB after every write.
 *
 * Storage layout (one IndexedDB key-value store):
 * - `pointer` → the id of the current generation, e.g. `gen-…`
 * - `gen-…`   → `{ db: Uint8Array, settings: WalletSettings }`
 *
 * A restore writes the new database under a new generation id first, then switches
 * `pointer` and deletes the old generation in one transaction: at every instant the
 * pointer names a complete database, so a crash or a closed tab never loses the wallet.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { Database } from 'sql.js';
import type { KvStore } from './idb.ts';
import { createWalletDatabase, loadSqlite } from './sqlite.ts';

/** The wallet's settings file (`settings.json` in a backup). */
export interface WalletSettings {
  version: 1;
  wallet_name: string;
  unit: 'sat';
  /** RFC 3339: when this wallet was first created. */
  created_at: string;
}

/** One row of the payments table. */
export interface Payment {
  id: number;
  /** Satoshis; positive = received, negative = sent. */
  amount: number;
  description: string;
  /** RFC 3339. */
  created_at: string;
}

/** The wallet's data and its change notifications (for `useSyncExternalStore`). */
export interface WalletStore {
  /** True once a wallet exists on this device (created or restored). */
  exists(): boolean;
  /** Increments on every change; a cheap snapshot for React. */
  revision(): number;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Payments, newest first. */
  payments(): Payment[];
  /** Sum of all amounts, in satoshis. */
  balance(): number;
  settings(): WalletSettings | null;
  /** Creates an empty wallet (no-op if one exists). */
  create(): Promise<void>;
  /** Adds a payment and persists the database. */
  addPayment(input: { amount: number; description: string }): Promise<void>;
  /** A consistent copy of the database file and the settings. */
  exportFiles(): { db: Uint8Array; settings: WalletSettings };
  /** Atomically replaces the wallet with a verified database (takes ownership of `db`). */
  replace(db: Database, settings: WalletSettings): Promise<void>;
  /** Deletes the wallet from this device. */
  erase(): Promise<void>;
}

interface Generation {
  db: Uint8Array;
  settings: WalletSettings;
}

const POINTER = 'pointer';

function newGenerationId(): string {
  return `gen-${crypto.randomUUID()}`;
}

/**
 * Opens the wallet stored in `kv`, or an empty store if this device has none yet.
 *
 * @param kv - the IndexedDB key-value store
 * @param clock - time source for `created_at` values
 * @returns the store
 * @throws Error when the stored database cannot be opened
 * @example
 * ```ts
 * const wallet = await openWalletStore(await openKv('noah-wallet'), systemClock);
 * if (!wallet.exists()) await wallet.create();
 * ```
 */
export async function openWalletStore(kv: KvStore, clock: Clock): Promise<WalletStore> {
  const SQL = await loadSqlite();
  let genId = await kv.get<string>(POINTER);
  let db: Database | null = null;
  let settings: WalletSettings | null = null;
  if (genId) {
    const gen = await kv.get<Generation>(genId);
    if (gen) {
      db = new SQL.Database(gen.db);
      settings = gen.settings;
    } else genId = undefined;
  }
  let rev = 0;
  const listeners = new Set<() => void>();
  let queue: Promise<unknown> = Promise.resolve();
  const changed = () => {
    rev++;
    for (const l of listeners) l();
  };
  /** Serialises writes so each persisted generation is a complete, ordered state. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const requireDb = (): Database => {
    if (!db) throw new Error('there is no wallet on this device yet');
    return db;
  };

  return {
    exists: () => db !== null,
    revision: () => rev,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    payments() {
      if (!db) return [];
      const res = db.exec(
        'SELECT id, amount, description, created_at FROM payments ORDER BY created_at DESC, id DESC',
      );
      return (res[0]?.values ?? []).map(([id, amount, description, created_at]) => ({
        id: Number(id),
        amount: Number(amount),
        description: String(description),
        created_at: String(created_at),
      }));
    },
    balance() {
      if (!db) return 0;
      return Number(db.exec('SELECT COALESCE(SUM(amount), 0) FROM payments')[0]?.values[0]?.[0]);
    },
    settings: () => settings,
    create: () =>
      serial(async () => {
        if (db) return;
        const fresh = await createWalletDatabase();
        const s: WalletSettings = {
          version: 1,
          wallet_name: 'My wallet',
          unit: 'sat',
          created_at: clock.now().toISOString(),
        };
        const id = newGenerationId();
        await kv.write({ [id]: { db: fresh.export(), settings: s } satisfies Generation });
        await kv.write({ [POINTER]: id });
        db = fresh;
        settings = s;
        genId = id;
        changed();
      }),
    addPayment: ({ amount, description }) =>
      serial(async () => {
        if (!Number.isSafeInteger(amount) || amount === 0)
          throw new RangeError('amount must be a whole, non-zero number of satoshis');
        const d = requireDb();
        d.run('INSERT INTO payments (amount, description, created_at) VALUES (?, ?, ?)', [
          amount,
          description.slice(0, 200),
          clock.now().toISOString(),
        ]);
        await kv.write({ [genId!]: { db: d.export(), settings: settings! } satisfies Generation });
        changed();
      }),
    exportFiles: () => ({ db: requireDb().export(), settings: settings! }),
    replace: (next, nextSettings) =>
      serial(async () => {
        const id = newGenerationId();
        // 1. The new database under a new key; the current one is untouched.
        await kv.write({
          [id]: { db: next.export(), settings: nextSettings } satisfies Generation,
        });
        // 2. Switch the pointer and drop the old generation in one transaction.
        await kv.write({ [POINTER]: id }, genId ? [genId] : []);
        db?.close();
        db = next;
        settings = nextSettings;
        genId = id;
        changed();
      }),
    erase: () =>
      serial(async () => {
        await kv.write({}, genId ? [POINTER, genId] : [POINTER]);
        db?.close();
        db = null;
        settings = null;
        genId = undefined;
        changed();
      }),
  };
}
