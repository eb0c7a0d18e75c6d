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

/**
 * Opens database bytes and proves they are a healthy wallet database: SQLite's
 * `PRAGMA integrity_check` must answer exactly "ok" and the `payments` table must exist.
 *
 * @param bytes - an SQLite database file
 * @returns the open database; the caller closes it
 * @throws CorruptDatabaseError when the bytes are not a healthy wallet database
 * @example
 * ```ts
 * const db = await openVerifiedDatabase(files.get('wallet.sqlite')!);
 * ```
 */
export async function openVerifiedDatabase(bytes: Uint8Array): Promise<Database> {
  const SQL = await loadSqlite();
  let db: Database | undefined;
  try {
    db = new SQL.Database(bytes);
    const check = db.exec('PRAGMA integrity_check');
    const verdict = check[0]?.values.map((row) => String(row[0]));
    if (verdict?.length !== 1 || verdict[0] !== 'ok')
      throw new CorruptDatabaseError('the wallet database in the backup is damaged');
    const table = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payments'");
    if (table.length === 0)
      throw new CorruptDatabaseError('the backup does not hold a wallet database');
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof CorruptDatabaseError) throw err;
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
