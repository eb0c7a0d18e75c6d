/**
 * Test helper: a fresh, isolated metadata database of each kind (a SQLite file in a temp
 * dir, a libSQL `file:` database, or a new database on the throwaway PostgreSQL cluster
 * that scripts/test-global-setup.ts starts), for any suite that needs a real store.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createMetadataStore, type MetadataStoreOptions } from '../../src/metadata/index.ts';
import type { MetadataStore, UserRow } from '../../src/stores/metadata.ts';

/** Every MetadataStore backend, for `describe.each`. */
export const metadataStoreKinds = ['sqlite', 'libsql', 'postgres'] as const;

/** One of `metadataStoreKinds`. */
export type MetadataStoreKind = (typeof metadataStoreKinds)[number];

/** A fresh database URL and how to get rid of it. */
export interface TestDatabase {
  url: string;
  /** Removes the database (drops it on PostgreSQL, deletes the temp dir otherwise). */
  cleanup(): Promise<void>;
}

function pgAdminUrl(): string {
  const url = process.env.NOAH_TEST_PG_URL;
  if (!url)
    throw new Error(
      'NOAH_TEST_PG_URL is not set: run the tests through vitest (its global setup starts PostgreSQL)',
    );
  return url;
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgAdminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database of `kind` (no store opened): use it to open several stores on
 * one database, as several server instances would.
 */
export async function createTestDatabase(kind: MetadataStoreKind): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const name = `noah_test_${randomBytes(8).toString('hex')}`;
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(pgAdminUrl());
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      cleanup: () =>
        withAdmin(
          async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
        ),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `noah-meta-${kind}-`));
  const file = join(dir, 'metadata.db');
  return {
    url: kind === 'sqlite' ? `sqlite:${file}` : `file:${file}`,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Opens a MetadataStore of `kind` on a fresh, isolated database.
 *
 * @returns the store, its URL (to open a second instance on the same database) and
 *   `cleanup()`, which closes the store and removes the database.
 * @example
 * const { store, cleanup } = await openTestMetadataStore('sqlite');
 * afterEach(cleanup);
 */
export async function openTestMetadataStore(
  kind: MetadataStoreKind,
  opts: MetadataStoreOptions = {},
): Promise<{ store: MetadataStore; url: string; cleanup(): Promise<void> }> {
  const database = await createTestDatabase(kind);
  let store: MetadataStore;
  try {
    store = await createMetadataStore(database.url, opts);
  } catch (err) {
    await database.cleanup();
    throw err;
  }
  return {
    store,
    url: database.url,
    async cleanup() {
      try {
        await store.close();
      } finally {
        await database.cleanup();
      }
    },
  };
}

/** A random, well-formed compressed secp256k1 public key in hex (not on the curve; stores don't check). */
export function freshPubkey(): string {
  return `02${randomBytes(32).toString('hex')}`;
}

/** A random opaque key with a readable prefix (object keys, k1 values, token hashes). */
export function freshKey(prefix = 'k'): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** The contract suites' clock: a fixed start, and times relative to it. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const MIN = 60_000;
export const HOUR = 60 * MIN;
/** The time `offsetMs` after {@link T0}. */
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

/**
 * One store of `kind` for the enclosing `describe`: opened before its tests, closed and
 * removed after them. `use` receives it (the suite keeps it in its own `store`).
 *
 * @example
 * let store: MetadataStore;
 * sharedTestMetadataStore(kind, (s) => (store = s));
 */
export function sharedTestMetadataStore(
  kind: MetadataStoreKind,
  use: (store: MetadataStore) => void,
): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await openTestMetadataStore(kind);
    cleanup = opened.cleanup;
    use(opened.store);
  });
  afterAll(async () => {
    await cleanup?.();
  });
}

/**
 * Stores of `kind` on fresh databases, each closed and removed after the test that opened
 * it, for tests that read global state (queues, stats). `defer` adds any other clean-up
 * to run after the test, last added first.
 *
 * @example
 * const { fresh } = freshTestMetadataStores(kind);
 * it('…', async () => { const store = await fresh(); … });
 */
export function freshTestMetadataStores(kind: MetadataStoreKind): {
  fresh(): Promise<MetadataStore>;
  defer(cleanup: () => Promise<void>): void;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async fresh() {
      const { store, cleanup } = await openTestMetadataStore(kind);
      cleanups.push(cleanup);
      return store;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** A new user with a fresh linking key, created at {@link T0}. */
export function newTestUser(store: MetadataStore): Promise<UserRow> {
  return store.upsertUser(freshPubkey(), at(0));
}
