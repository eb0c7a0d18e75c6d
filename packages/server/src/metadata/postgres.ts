/**
 * The PostgreSQL backend (docs/OPERATIONS.md "Running N instances (PostgreSQL + S3
 * behind a load balancer)": several stateless server instances share one database): a pg
 * Pool behind Kysely's PostgresDialect.
 * @module
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { MetadataDb } from './schema.ts';

/** Options for `openPostgres`. */
export interface PostgresOptions {
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Told about errors of idle pooled connections (e.g. the server restarted). */
  onIdleError?: (err: Error) => void;
  /**
   * How long a query waits for a connection, ms (default 10 s): a database that stops
   * answering must fail requests, not hold them (and their clients' connections)
   * forever, which pg's default does.
   */
  connectTimeoutMs?: number;
}

/**
 * Opens a connection pool (lazily: the first query connects).
 *
 * @param url a `postgres://` or `postgresql://` connection string.
 * @returns a Kysely instance owning the pool (destroy it to end the pool).
 */
export function openPostgres(url: string, opts: PostgresOptions = {}): Kysely<MetadataDb> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
  });
  // An idle client's error is emitted on the pool; unhandled it would crash the process.
  pool.on('error', (err) => opts.onIdleError?.(err));
  // pg-pool listens for a client's errors only while it is idle; a client checked out
  // when the server ends its session (restart, failover, pg_terminate_backend) emits
  // 'error' with no listener, which would end the process. The query in flight fails
  // on its own and the pool drops the broken client (docs/OPERATIONS.md).
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.onIdleError?.(err));
  });
  return new Kysely<MetadataDb>({ dialect: new PostgresDialect({ pool }) });
}
