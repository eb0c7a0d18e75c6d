/**
 * The libSQL backend: a local `file:` database through @libsql/client, or Turso over
 * `libsql://` / `https://` (docs/OPERATIONS.md "Configuration reference"). A small Kysely
 * driver of our own instead of @libsql/kysely-libsql's, because of how @libsql/client
 * behaves under concurrency: an interactive transaction borrows a connection of the
 * client's pool, and a second writer on another connection fails with SQLITE_BUSY at once
 * (or, with a busy timeout, blocks the event loop so the first writer can never commit).
 * So this driver serialises writers within the process: every write transaction and every
 * statement that is not a SELECT holds one mutex. Transactions are `BEGIN IMMEDIATE`
 * ("write" mode). Other processes on the same file wait on the busy timeout.
 * @module
 */
import { type Client, createClient, type InValue, type Transaction } from '@libsql/client';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  type QueryResult,
  SelectQueryNode,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { dirname, resolve } from 'node:path';
import { preparePrivateDatabase } from '../local-files.ts';
import { createMutex, type Mutex } from './mutex.ts';
import type { MetadataDb } from './schema.ts';
import { SQLITE_BUSY_TIMEOUT_MS, TransactionalSqliteAdapter } from './sqlite.ts';

/** Options for `openLibsql`. */
export interface LibsqlOptions {
  /** Turso auth token; a `?authToken=` in the URL takes precedence. */
  authToken?: string | undefined;
  /**
   * True for `file::memory:`: the client then has one connection, which an open
   * transaction holds, so reads are serialised too.
   */
  inMemory?: boolean;
}

function createLibsqlConnection(
  client: Client,
  writeLock: Mutex,
  serialiseReads: boolean,
): DatabaseConnection & {
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
} {
  let trx: Transaction | undefined;
  let release: (() => void) | undefined;
  const settle = (): void => {
    trx = undefined;
    release?.();
    release = undefined;
  };
  const run = async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
    const target = trx ?? client;
    const result = await target.execute({ sql: q.sql, args: q.parameters as InValue[] });
    return {
      numAffectedRows: BigInt(result.rowsAffected),
      insertId: result.lastInsertRowid,
      rows: result.rows as R[],
    };
  };
  return {
    async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
      if (trx || (!serialiseReads && SelectQueryNode.is(q.query))) return run<R>(q);
      return writeLock.run(() => run<R>(q));
    },
    // biome-ignore lint/correctness/useYield: the driver cannot stream; Kysely requires the method.
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
      throw new Error('the libSQL metadata driver does not stream queries');
    },
    async begin() {
      if (trx) throw new Error('transaction already in progress');
      release = await writeLock.lock();
      try {
        trx = await client.transaction('write'); // BEGIN IMMEDIATE
      } catch (err) {
        settle();
        throw err;
      }
    },
    async commit() {
      try {
        await trx?.commit();
      } finally {
        trx?.close();
        settle();
      }
    },
    async rollback() {
      try {
        await trx?.rollback();
      } finally {
        trx?.close();
        settle();
      }
    },
  };
}

type LibsqlConnection = ReturnType<typeof createLibsqlConnection>;

function libsqlDialect(client: Client, serialiseReads: boolean): Dialect {
  const writeLock = createMutex();
  const driver: Driver = {
    async init() {},
    async acquireConnection() {
      return createLibsqlConnection(client, writeLock, serialiseReads);
    },
    async beginTransaction(conn) {
      await (conn as LibsqlConnection).begin();
    },
    async commitTransaction(conn) {
      await (conn as LibsqlConnection).commit();
    },
    async rollbackTransaction(conn) {
      await (conn as LibsqlConnection).rollback();
    },
    async releaseConnection() {},
    async destroy() {
      client.close();
    },
  };
  return {
    createAdapter: () => new TransactionalSqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

/** The path of a local `file:` database URL (`file:PATH`, `file://PATH`), else null. */
export function libsqlLocalFile(url: string): string | null {
  if (!/^file:/i.test(url)) return null;
  let path = decodeURIComponent(url.slice('file:'.length).split('?', 1)[0] ?? '');
  if (path.startsWith('//')) path = path.slice(2);
  return path === '' || path.startsWith(':memory:') ? null : resolve(path);
}

/**
 * Opens a libSQL database. Local files get WAL mode and the busy timeout; libSQL has
 * foreign keys on by default.
 *
 * @param url a `file:`, `libsql:`, `https:` or `http:` URL.
 * @returns a Kysely instance owning the client (destroy it to close).
 * @throws the client's error when the URL is malformed or the database cannot be opened.
 */
export async function openLibsql(
  url: string,
  opts: LibsqlOptions = {},
): Promise<Kysely<MetadataDb>> {
  const local = libsqlLocalFile(url);
  // Push tokens and session hashes: owner only (docs/OPERATIONS.md "Running it").
  if (local && !opts.inMemory) preparePrivateDatabase(local, dirname(local));
  const hasTokenInUrl = /[?&]authToken=/i.test(url);
  const client = createClient({
    url,
    ...(opts.authToken && !hasTokenInUrl ? { authToken: opts.authToken } : {}),
    timeout: SQLITE_BUSY_TIMEOUT_MS,
  });
  try {
    if (client.protocol === 'file' && !opts.inMemory) {
      await client.execute('PRAGMA journal_mode = WAL');
    }
  } catch (err) {
    client.close();
    throw err;
  }
  return new Kysely<MetadataDb>({ dialect: libsqlDialect(client, opts.inMemory === true) });
}
