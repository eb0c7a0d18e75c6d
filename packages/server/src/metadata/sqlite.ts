/**
 * The embedded SQLite backend: one better-sqlite3 connection behind Kysely's
 * SqliteDialect (the embedded default: docs/OPERATIONS.md "Configuration reference").
 * Kysely already serialises all use of the single connection; we make every transaction
 * `BEGIN IMMEDIATE`, so a write transaction takes the write lock up front and another
 * process on the same file waits (busy_timeout) instead of failing on a read-to-write
 * upgrade.
 *
 * Kysely's SQLite driver calls `prepare(sql)` for every query; compiling the same SQL
 * text again is most of a point query's cost, so the connection hands Kysely a
 * statement cache instead ({@link cachingDatabase}: LRU by SQL text, cleared on close).
 * @module
 */
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDatabase,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';
import { preparePrivateDatabase } from '../local-files.ts';
import type { MetadataDb } from './schema.ts';

/** How long a connection waits for another process's write lock (SQLite busy_timeout). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** SQLite adapter that runs migrations in a transaction (SQLite DDL is transactional). */
export class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Prepared statements kept per connection (distinct SQL texts; the store has ~100). */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * A better-sqlite3 connection as Kysely sees it, with `prepare` answered from a bounded
 * LRU cache keyed by SQL text. Reusing a statement is safe here: Kysely's driver holds
 * the single connection for the whole of a query (and of a streamed query), so no
 * statement runs twice at once; SQLite re-prepares a statement itself after a schema
 * change. `close` drops the statements, then closes the connection.
 *
 * @param database - an open better-sqlite3 connection
 * @param maxStatements - cache bound (least recently used statements are dropped)
 * @returns the object to give Kysely's SqliteDialect as `database`
 * @example
 * ```ts
 * new SqliteDialect({ database: cachingDatabase(new Database(path)) });
 * ```
 */
export function cachingDatabase(
  database: Database.Database,
  maxStatements = STATEMENT_CACHE_SIZE,
): SqliteDatabase & { readonly cachedStatements: number; readonly inTransaction: boolean } {
  if (!Number.isSafeInteger(maxStatements) || maxStatements < 1)
    throw new RangeError(`maxStatements: expected a positive integer, got ${maxStatements}`);
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Map order is insertion order: re-insert to mark it most recently used.
        cache.delete(sql);
      } else {
        stmt = database.prepare(sql);
        if (cache.size >= maxStatements) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
    close() {
      cache.clear();
      database.close();
    },
    get cachedStatements() {
      return cache.size;
    },
    get inTransaction() {
      return database.inTransaction;
    },
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #database: { readonly inTransaction: boolean };
  constructor(config: { database: SqliteDatabase & { readonly inTransaction: boolean } }) {
    super(config);
    this.#database = config.database;
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR:
  // docs/OPERATIONS.md "The SQLite metadata store"); a second ROLLBACK would then fail
  // and hide the error that matters.
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#database.inTransaction) await super.rollbackTransaction(connection);
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase & { readonly inTransaction: boolean };
  constructor(database: SqliteDatabase & { readonly inTransaction: boolean }) {
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
 * the store relies on: WAL, busy_timeout, foreign_keys on, synchronous=NORMAL. The file,
 * its WAL and SHM are mode 0600 and a created directory 0700 (existing ones tightened).
 *
 * @param path a file path, or `:memory:`.
 * @returns a Kysely instance owning the connection (destroy it to close the file).
 */
export function openSqlite(path: string): Kysely<MetadataDb> {
  const memory = path === ':memory:';
  // Push tokens and session hashes: owner only, file, WAL and SHM (docs/OPERATIONS.md).
  if (!memory) preparePrivateDatabase(path, dirname(path));
  const database = new Database(path);
  try {
    if (!memory) database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
    // NORMAL is durable across application crashes in WAL mode; a power loss may drop
    // the last commits but never corrupts the file (docs/OPERATIONS.md "The SQLite
    // metadata store").
    database.pragma('synchronous = NORMAL');
  } catch (err) {
    database.close();
    throw err;
  }
  return new Kysely<MetadataDb>({ dialect: new ImmediateSqliteDialect(cachingDatabase(database)) });
}
