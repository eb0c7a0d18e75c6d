/**
 * `createMetadataStore(url)`: opens the MetadataStore backend a DATABASE_URL names
 * (docs/OPERATIONS.md "Configuration reference"), runs the schema migrations, and returns
 * the store. One Kysely implementation (auth.ts, backups.ts, completion.ts, sweeping.ts,
 * ops.ts, devices.ts, triggers.ts, push-jobs.ts, verifications.ts) serves every dialect; sqlite.ts,
 * libsql.ts and postgres.ts only open connections, and schema.ts holds the few dialect
 * differences.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { freeBytesAt } from '../local-files.ts';
import type { MetadataStore } from '../stores/metadata.ts';
import { authMethods } from './auth.ts';
import { backupMethods } from './backups.ts';
import { checksumMethods } from './checksums.ts';
import { completionMethods } from './completion.ts';
import type { StoreContext } from './context.ts';
import { deviceMethods } from './devices.ts';
import { libsqlLocalFile, openLibsql } from './libsql.ts';
import { migrateToLatest } from './migrations.ts';
import { opsMethods } from './ops.ts';
import { openPostgres } from './postgres.ts';
import { type MetadataDb, postgresFlavor, type SqlFlavor, sqliteFlavor } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import { pushJobMethods } from './push-jobs.ts';
import { storageStatsMethods } from './storage-stats.ts';
import { sweepingMethods } from './sweeping.ts';
import { triggerMethods } from './triggers.ts';
import { verificationMethods } from './verifications.ts';
import { parseDatabaseUrl, redactDatabaseUrl } from './url.ts';

export { ACCEPTED_DATABASE_URLS, parseDatabaseUrl, redactDatabaseUrl } from './url.ts';

/** The subset of a pino logger the store uses. */
export interface MetadataLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options for `createMetadataStore`. */
export interface MetadataStoreOptions {
  logger?: MetadataLogger;
  /**
   * Turso auth token for `libsql://` / `https://` URLs when the URL has no
   * `?authToken=` (the server passes DATABASE_AUTH_TOKEN).
   */
  authToken?: string;
  /** New user ids (default: random UUIDs). */
  newId?: () => string;
  /** PostgreSQL pool size (default 10). */
  maxConnections?: number;
  /** PostgreSQL: how long a query waits for a connection, ms (default 10 s). */
  connectTimeoutMs?: number;
}

async function open(
  url: string,
  opts: MetadataStoreOptions,
): Promise<{ db: Kysely<MetadataDb>; flavor: SqlFlavor; dir?: string }> {
  const target = parseDatabaseUrl(url);
  switch (target.kind) {
    case 'sqlite': {
      const db = openSqlite(target.path);
      const local = target.path === ':memory:' ? {} : { dir: dirname(resolve(target.path)) };
      return { db, flavor: sqliteFlavor('sqlite'), ...local };
    }
    case 'libsql': {
      const authToken = opts.authToken;
      const db = await openLibsql(target.url, { authToken, inMemory: target.inMemory });
      const file = target.inMemory ? null : libsqlLocalFile(target.url);
      return { db, flavor: sqliteFlavor('libsql'), ...(file ? { dir: dirname(file) } : {}) };
    }
    case 'postgres': {
      const db = openPostgres(target.url, {
        ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}),
        ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
        // pg's error messages carry no password; the URL is not part of them.
        onIdleError: (err) => opts.logger?.warn({ err }, 'idle PostgreSQL connection failed'),
      });
      return { db, flavor: postgresFlavor };
    }
  }
}

/**
 * Opens the metadata store for a DATABASE_URL and brings its schema up to date.
 *
 * @param url `postgres://…` / `postgresql://…` (PostgreSQL); `libsql://…`, `https://…`,
 *   `http://…` or `file:PATH` (libSQL, Turso); `sqlite:PATH`, `sqlite::memory:` or a
 *   bare path (better-sqlite3, the embedded default).
 * @param opts logger, auth token, id source, pool size.
 * @returns the store; call `close()` when done.
 * @throws Error naming the accepted URL forms for an unknown scheme; the driver's error
 *   when the database cannot be opened; Error "metadata migration failed (…)" with the
 *   cause when a migration fails. Errors never contain the URL's password.
 * @example
 * const store = await createMetadataStore('sqlite:./data/noah.db');
 * const ok = await store.consumeChallenge(k1, clock.now());
 */
export async function createMetadataStore(
  url: string,
  opts: MetadataStoreOptions = {},
): Promise<MetadataStore> {
  const { db, flavor, dir } = await open(url, opts);
  try {
    await migrateToLatest(db, (applied) =>
      opts.logger?.info({ kind: flavor.kind, migrations: applied }, 'metadata schema migrated'),
    );
  } catch (err) {
    await db.destroy();
    throw err;
  }
  opts.logger?.info({ kind: flavor.kind, url: redactDatabaseUrl(url) }, 'metadata store opened');
  const ctx: StoreContext = { db, flavor, newId: opts.newId ?? randomUUID };
  let closing: Promise<void> | undefined;
  return {
    kind: flavor.kind,
    ...authMethods(ctx),
    ...backupMethods(ctx),
    ...completionMethods(ctx),
    ...checksumMethods(ctx),
    ...sweepingMethods(ctx),
    ...opsMethods(ctx),
    ...deviceMethods(ctx),
    ...triggerMethods(ctx),
    ...pushJobMethods(ctx),
    ...storageStatsMethods(ctx),
    ...verificationMethods(ctx),
    // A local file: its disk can fill up (docs/OPERATIONS.md "A full disk").
    ...(dir === undefined ? {} : { freeBytes: () => freeBytesAt(dir) }),
    close() {
      // Idempotent: a second close waits for the first (pg's Pool.end throws if repeated).
      closing ??= db.destroy();
      return closing;
    },
  };
}
