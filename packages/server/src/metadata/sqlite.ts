/**
 * The embedded SQLite backend: one better-sqlite3 connection behind Kysely's
 * SqliteDialect (DESIGN.md "Seams": the embedded default). Kysely already serialises
 * all use of the single connection; we make every transaction `BEGIN IMMEDIATE`, so a
 * write transaction takes the write lock up front and another process on the same file
 * waits (busy_timeout) instead of failing on a read-to-write upgrade.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
} from 'kysely';
import type { MetadataDb } from './schema.ts';

/** How long a connection waits for another process's write lock (SQLite busy_timeout). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** SQLite adapter that runs migrations in a transaction (SQLite DDL is transactional). */
export class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: Database.Database;
  constructor(database: Database.Database) {
    super({ database });
    this.#database = database;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
  override createAdapter(): SqliteAdapter {
    return new TransactionalSqliteAdapter();
  }
}

/**
 * Opens (creating if needed, with its parent directory) a SQLite file with the pragmas
 * the store relies on: WAL, busy_timeout, foreign_keys on, synchronous=NORMAL.
 *
 * @param path a file path, or `:memory:`.
 * @returns a Kysely instance owning the connection (destroy it to close the file).
 */
export function openSqlite(path: string): Kysely<MetadataDb> {
  const memory = path === ':memory:';
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path);
  try {
    if (!memory) database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
    // NORMAL is durable across application crashes in WAL mode; a power loss may drop
    // the last commits but never corrupts the file (sqlite.org/pragma.html#pragma_synchronous).
    database.pragma('synchronous = NORMAL');
  } catch (err) {
    database.close();
    throw err;
  }
  return new Kysely<MetadataDb>({ dialect: new ImmediateSqliteDialect(database) });
}
