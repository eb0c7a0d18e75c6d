/**
 * The integrity check of the browser wallet adapter (`./wallet.ts`) on sql.js, SQLite
 * compiled to WebAssembly: the engine a web wallet already loads for its own database,
 * passed in, so the SDK ships no WebAssembly of its own.
 * @module
 */
import type { IntegrityCheck } from './wallet.ts';

/** The part of a loaded sql.js module (`await initSqlJs(…)`) the check uses. */
export interface SqlJsLike {
  Database: new (
    bytes: Uint8Array,
  ) => {
    exec(sql: string): { values: unknown[][] }[];
    close(): void;
  };
}

/**
 * `PRAGMA integrity_check` (not `quick_check`: it also checks index contents) with
 * sql.js, on a private copy of the database: true when SQLite answers exactly "ok";
 * false too when the bytes cannot be opened as a database.
 *
 * @param SQL - the loaded sql.js module
 * @returns the check for `createBrowserWalletData`
 * @example
 * ```ts
 * const integrityCheck = sqlJsIntegrityCheck(await initSqlJs({ locateFile: () => wasmUrl }));
 * ```
 */
export function sqlJsIntegrityCheck(SQL: SqlJsLike): IntegrityCheck {
  return async (bytes) => {
    let db: InstanceType<SqlJsLike['Database']> | undefined;
    try {
      db = new SQL.Database(bytes);
      // A backup is untrusted input: never run schema-defined SQL functions from it.
      db.exec('PRAGMA trusted_schema = OFF');
      const rows = db.exec('PRAGMA integrity_check')[0]?.values ?? [];
      return rows.length === 1 && rows[0]?.[0] === 'ok';
    } catch {
      return false;
    } finally {
      db?.close();
    }
  };
}
