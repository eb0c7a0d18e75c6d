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
import { createMetadataStore, type MetadataStoreOptions } from '../../src/metadata/index.ts';
import type { MetadataStore } from '../../src/stores/metadata.ts';

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
