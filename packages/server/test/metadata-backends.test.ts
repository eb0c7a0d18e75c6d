/**
 * Backend selection and per-backend setup of the MetadataStore: which DATABASE_URL opens
 * which backend, that credentials never reach errors or logs, SQLite pragmas, and the
 * single-connection in-memory databases.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMetadataStore,
  type MetadataLogger,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from '../src/metadata/index.ts';
import { createTestDatabase, freshKey, freshPubkey } from './helpers/metadata.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'noah-meta-backend-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('parseDatabaseUrl', () => {
  it.each([
    ['postgres://u:p@db:5432/noah', { kind: 'postgres', url: 'postgres://u:p@db:5432/noah' }],
    ['postgresql://db/noah', { kind: 'postgres', url: 'postgresql://db/noah' }],
    [
      'libsql://noah-org.turso.io',
      { kind: 'libsql', url: 'libsql://noah-org.turso.io', inMemory: false },
    ],
    [
      'https://noah-org.turso.io',
      { kind: 'libsql', url: 'https://noah-org.turso.io', inMemory: false },
    ],
    [
      'file:/var/lib/noah/meta.db',
      { kind: 'libsql', url: 'file:/var/lib/noah/meta.db', inMemory: false },
    ],
    ['file::memory:', { kind: 'libsql', url: 'file::memory:', inMemory: true }],
    ['sqlite:./data/noah.db', { kind: 'sqlite', path: './data/noah.db' }],
    ['sqlite:///var/lib/noah.db', { kind: 'sqlite', path: '/var/lib/noah.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['./data/noah.db', { kind: 'sqlite', path: './data/noah.db' }],
    ['/abs/noah.db', { kind: 'sqlite', path: '/abs/noah.db' }],
    ['C:\\noah\\meta.db', { kind: 'sqlite', path: 'C:\\noah\\meta.db' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it('rejects an unknown scheme naming the accepted forms, without echoing the URL', () => {
    const attempt = () => parseDatabaseUrl('mysql://root:hunter2@db/noah');
    expect(attempt).toThrow(/"mysql:".*postgres:\/\/.*libsql:\/\/.*sqlite:PATH/);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('rejects an empty URL with a TypeError', () => {
    expect(() => parseDatabaseUrl('')).toThrow(TypeError);
  });
});

describe('redactDatabaseUrl', () => {
  it.each([
    ['postgres://noah:s3cr3t@db:5432/noah', 'postgres://noah:***@db:5432/noah'],
    ['postgres://noah:p@ss@db/noah', 'postgres://noah:***@db/noah'],
    ['libsql://x.turso.io?authToken=eyJhbGc.secret', 'libsql://x.turso.io?authToken=***'],
    ['postgres://db/noah', 'postgres://db/noah'],
    ['sqlite:./data/noah.db', 'sqlite:./data/noah.db'],
  ])('%s', (url, expected) => {
    expect(redactDatabaseUrl(url)).toBe(expected);
  });
});

describe('createMetadataStore', () => {
  it('an unknown scheme fails without the password in the error', async () => {
    const err = await createMetadataStore('mysql://root:hunter2@db/noah').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/unsupported database URL scheme "mysql:"/);
    expect(String((err as Error).message)).not.toContain('hunter2');
  });

  it('an unreachable PostgreSQL fails without the password in the error', async () => {
    const err = await createMetadataStore('postgres://noah:hunter2@127.0.0.1:1/noah').catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const e = err as Error & { cause?: unknown };
    expect(`${e.message} ${String(e.cause)}`).not.toContain('hunter2');
  });

  it('a PostgreSQL that accepts but never answers fails within the connect timeout', async () => {
    // A TCP listener that never speaks: a database host that stopped answering.
    const silent = createNetServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const t0 = performance.now();
      const err = await createMetadataStore(`postgres://noah@127.0.0.1:${port}/noah`, {
        connectTimeoutMs: 300,
      }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('logs the opened URL with its password redacted', async () => {
    const database = await createTestDatabase('postgres');
    cleanups.push(database.cleanup);
    // The throwaway cluster trusts every connection, so any password is accepted.
    const url = new URL(database.url);
    url.password = 'hunter2';
    const lines: unknown[] = [];
    const logger: MetadataLogger = {
      info: (obj, msg) => lines.push({ ...obj, msg }),
      warn: (obj, msg) => lines.push({ ...obj, msg }),
    };
    const store = await createMetadataStore(url.toString(), { logger });
    await store.close();
    const text = JSON.stringify(lines);
    expect(text).toContain('metadata schema migrated');
    expect(text).toContain('postgres');
    expect(text).toContain(':***@');
    expect(text).not.toContain('hunter2');
  });

  it('sqlite: creates missing parent directories and sets WAL, foreign keys in effect', async () => {
    const dir = await tempDir();
    const file = join(dir, 'nested', 'deeper', 'meta.db');
    const store = await createMetadataStore(`sqlite:${file}`);
    try {
      expect(store.kind).toBe('sqlite');
      await expect(
        store.createSession(freshKey('tok'), 'no-such-user', new Date(10), new Date(0)),
      ).rejects.toThrow(/FOREIGN KEY/i);
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('libsql file: sets WAL', async () => {
    const file = join(await tempDir(), 'meta.db');
    const store = await createMetadataStore(`file:${file}`);
    await store.close();
    expect(store.kind).toBe('libsql');
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('uses the injected id source for new users', async () => {
    let n = 0;
    const store = await createMetadataStore('sqlite::memory:', { newId: () => `user-${++n}` });
    try {
      expect((await store.upsertUser(freshPubkey(), new Date(0))).id).toBe('user-1');
    } finally {
      await store.close();
    }
  });

  // In-memory databases have one connection, which an open transaction holds: reads and
  // writes issued meanwhile must wait for it, not fail.
  it.each(['sqlite::memory:', 'file::memory:'])(
    '%s: reads and writes keep working while transactions run',
    async (url) => {
      const store = await createMetadataStore(url);
      try {
        const now = new Date(1000);
        const user = await store.upsertUser(freshPubkey(), now);
        const keys: string[] = [];
        for (let i = 0; i < 5; i++) {
          const objectKey = freshKey('obj');
          keys.push(objectKey);
          await store.createPendingUpload({
            objectKey,
            userId: user.id,
            version: 1,
            declaredSize: 5,
            createdAt: now,
            expiresAt: new Date(100_000),
          });
        }
        let reads = 0;
        let writes = 0;
        const reader = async () => {
          for (let i = 0; i < 100; i++) {
            await store.listBackups(user.id);
            reads++;
          }
        };
        const writer = async () => {
          for (let i = 0; i < 20; i++) {
            await store.createChallenge(freshKey('k1'), new Date(5000));
            writes++;
          }
        };
        const [, , ...results] = await Promise.all([
          reader(),
          writer(),
          ...keys.map((objectKey) =>
            store.completeUpload({ userId: user.id, objectKey, version: 1, size: 5, now }),
          ),
        ]);
        expect([reads, writes]).toEqual([100, 20]);
        // Five completions into one slot: each replaced the previous one exactly once.
        const replaced = results.map((r) => r?.replacedObjectKey).filter((k) => k != null);
        const [current] = await store.listBackups(user.id);
        expect(new Set([...replaced, current?.objectKey])).toEqual(new Set(keys));
      } finally {
        await store.close();
      }
    },
  );
});
