/**
 * The part of `@op-engineering/op-sqlite` the ports use, declared here so the SDK does
 * not import the native module itself: the app passes op-sqlite's `open` (its JSI
 * build on a phone; its Node build, on better-sqlite3, in the tests). Only documented
 * calls: `open({ name, location })` with an absolute `location`, `execute`,
 * `transaction` (BEGIN … COMMIT, ROLLBACK when the callback throws), `close`.
 *
 * Rows are read from `SELECT` statements only, the pragmas through their table-valued
 * functions (`pragma_integrity_check`): op-sqlite's Node build returns rows for
 * statements that start with SELECT and none for a bare `PRAGMA` (docs/REACT-NATIVE.md §8.4).
 * @module
 */
import { integrityCheckFailed } from '@noah-backup/client/wallet-refusals';
import { splitPath } from './files.ts';

/** A value of a row. */
export type OpSqliteScalar = string | number | boolean | null | ArrayBuffer | ArrayBufferView;

/** What `execute` resolves to. */
export interface OpSqliteResult {
  rows: Array<Record<string, OpSqliteScalar>>;
  rowsAffected: number;
}

/** One connection (op-sqlite's `DB`). */
export interface OpSqliteDB {
  execute(query: string, params?: OpSqliteScalar[]): Promise<OpSqliteResult>;
  transaction(
    fn: (tx: {
      execute(query: string, params?: OpSqliteScalar[]): Promise<OpSqliteResult>;
    }) => Promise<void>,
  ): Promise<void>;
  close(): void;
}

/** op-sqlite's `open`. */
export type OpSqliteOpen = (options: { name: string; location?: string }) => OpSqliteDB;

/** Opens the database file at the absolute `path` (op-sqlite creates it when missing). */
export function openAt(open: OpSqliteOpen, path: string): OpSqliteDB {
  const { dir, name } = splitPath(path);
  return open({ name, location: dir });
}

/**
 * True if `e` is SQLite saying the file is no sound database (SQLITE_CORRUPT = 11,
 * SQLITE_NOTADB = 26), as opposed to busy, locked or I/O: op-sqlite reports SQLite's
 * message (and, on a phone, its code) in the error's text.
 */
export function isCorruption(e: unknown): boolean {
  const text = e instanceof Error ? e.message : String(e);
  return /malformed|not a database|SQLITE_(CORRUPT|NOTADB)|code:? ?(11|26)\b/i.test(text);
}

/**
 * Runs `PRAGMA integrity_check` (not `quick_check`: it also checks index contents) on
 * the database file at `path`, a private copy (it may be written: a WAL-mode copy is
 * checkpointed into itself when closed).
 * @param label - how an error names the database (a relative path)
 * @throws NoahError `integrity_check_failed` unless SQLite answers exactly `ok`, or when
 *   the file cannot be opened as a database
 */
export async function integrityCheckAt(
  open: OpSqliteOpen,
  path: string,
  label: string,
): Promise<void> {
  let ok = false;
  let cause: unknown;
  try {
    const db = openAt(open, path);
    try {
      // An archive is untrusted input: never run schema-defined SQL functions from it.
      await db.execute('PRAGMA trusted_schema = OFF');
      const { rows } = await db.execute('SELECT * FROM pragma_integrity_check');
      ok = rows.length === 1 && Object.values(rows[0] ?? {})[0] === 'ok';
    } finally {
      db.close();
    }
  } catch (e) {
    cause = e;
  }
  if (!ok) throw integrityCheckFailed(label, undefined, cause);
}
