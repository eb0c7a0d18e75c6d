/**
 * The demo wallet's SQLite engine: sql.js (SQLite compiled to WebAssembly) running in
 * the page. Loads the WebAssembly once, defines the wallet schema, and opens a backup's
 * database only if it is this wallet's (its integrity is the SDK adapter's check, run
 * with this engine: `integrityCheck`).
 * @module
 */
import type { IntegrityCheck } from '@noah-backup/client/web/wallet';
import { hasSqliteHeader } from '@noah-backup/client/wallet-refusals';
import { sqlJsIntegrityCheck } from '@noah-backup/client/web/sqlite';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';
import wasmUrl from 'sql.js/dist/sql-wasm-browser.wasm?url';
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

/** `PRAGMA integrity_check` on database bytes, with this page's sql.js. */
export const integrityCheck: IntegrityCheck = async (bytes) =>
  sqlJsIntegrityCheck(await loadSqlite())(bytes);

/** The columns this wallet reads from `payments` (see `wallet-store.ts`). */
const PAYMENT_COLUMNS = ['id', 'amount', 'description', 'created_at'];

/**
 * Opens a backup's database, already checked by `integrityCheck`, if it is this
 * wallet's: an SQLite database whose `payments` table has this wallet's columns.
 *
 * @param bytes - an SQLite database file
 * @returns the open database; the caller closes it
 * @throws ForeignWalletError when the bytes are not an SQLite database or not this
 *   wallet's
 * @example
 * ```ts
 * const db = await openWalletDatabase(files.get('wallet.sqlite')!);
 * ```
 */
export async function openWalletDatabase(bytes: Uint8Array): Promise<Database> {
  if (!hasSqliteHeader(bytes))
    throw new ForeignWalletError('its wallet.sqlite is not an SQLite database');
  const SQL = await loadSqlite();
  const db = new SQL.Database(bytes);
  try {
    const columns = new Set(
      (db.exec('PRAGMA table_info(payments)')[0]?.values ?? []).map((row) => String(row[1])),
    );
    if (!PAYMENT_COLUMNS.every((c) => columns.has(c)))
      throw new ForeignWalletError("its database does not hold this web wallet's payments table");
    return db;
  } catch (err) {
    db.close();
    throw err;
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
