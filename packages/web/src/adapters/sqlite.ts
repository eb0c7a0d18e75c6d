/**
 * The demo wallet's SQLite engine: sql.js (SQLite compiled to WebAssembly) running in
 * the page. Loads the WebAssembly once, defines the wallet schema, and opens database
 * bytes only after `PRAGMA integrity_check` says "ok".
 * @module
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';
import wasmUrl from 'sql.js/dist/sql-wasm-browser.wasm?url';
import { NoahError } from '@noah-backup/core/errors';
import { ForeignWalletError } from './foreign-wallet.ts';

/** The wallet's schema: one payments table (amounts in satoshis, signed). */
export const WALLET_SCHEMA = `
CREATE TABLE IF NOT EXISTS payments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  amount INTEGER NOT NULL,
  description TEXT NOT NULL,
  created_at TEXT NOT NULL
);`;

let engine: Promise<SqlJsStatic> | undefined;

/**
 * Loads sql.js and its WebAssembly (shipped by Vite as an asset) once per page.
 *
 * @returns the sql.js module
 * @throws Error when the browser cannot run WebAssembly
 * @example
 * ```ts
 * const SQL = await loadSqlite();
 * const db = new SQL.Database();
 * ```
 */
export function loadSqlite(): Promise<SqlJsStatic> {
  engine ??= initSqlJs({ locateFile: () => wasmUrl });
  return engine;
}

/** A database in an archive failed its checks. */
export class CorruptDatabaseError extends NoahError {
  constructor(message: string) {
    super('corrupt_database', message);
  }
}

/** The first 16 bytes of every SQLite database file ("SQLite format 3\0"). */
const SQLITE_MAGIC = new TextEncoder().encode('SQLite format 3\u0000');

/** The columns this wallet reads from `payments` (see `wallet-store.ts`). */
const PAYMENT_COLUMNS = ['id', 'amount', 'description', 'created_at'];

/**
 * Opens database bytes and proves they are a healthy database of this wallet: SQLite's
 * `PRAGMA integrity_check` must answer exactly "ok" (else it is damaged), and the
 * `payments` table must have this wallet's columns (else it is another wallet's).
 *
 * @param bytes - an SQLite database file
 * @returns the open database; the caller closes it
 * @throws ForeignWalletError when the bytes are not an SQLite database or not this
 *   wallet's; CorruptDatabaseError when the database is damaged
 * @example
 * ```ts
 * const db = await openVerifiedDatabase(files.get('wallet.sqlite')!);
 * ```
 */
export async function openVerifiedDatabase(bytes: Uint8Array): Promise<Database> {
  if (bytes.length < SQLITE_MAGIC.length || !SQLITE_MAGIC.every((b, i) => bytes[i] === b))
    throw new ForeignWalletError('its wallet.sqlite is not an SQLite database');
  const SQL = await loadSqlite();
  let db: Database | undefined;
  try {
    db = new SQL.Database(bytes);
    const check = db.exec('PRAGMA integrity_check');
    const verdict = check[0]?.values.map((row) => String(row[0]));
    if (verdict?.length !== 1 || verdict[0] !== 'ok')
      throw new CorruptDatabaseError('the wallet database in the backup is damaged');
    const columns = new Set(
      (db.exec('PRAGMA table_info(payments)')[0]?.values ?? []).map((row) => String(row[1])),
    );
    if (!PAYMENT_COLUMNS.every((c) => columns.has(c)))
      throw new ForeignWalletError("its database does not hold this web wallet's payments table");
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof CorruptDatabaseError || err instanceof ForeignWalletError) throw err;
    throw new CorruptDatabaseError('the wallet database in the backup cannot be opened');
  }
}

/**
 * Creates a new, empty wallet database.
 *
 * @returns the open database with the wallet schema
 * @example
 * ```ts
 * const db = await createWalletDatabase();
 * ```
 */
export async function createWalletDatabase(): Promise<Database> {
  const SQL = await loadSqlite();
  const db = new SQL.Database();
  db.run(WALLET_SCHEMA);
  return db;
}
