/**
 * The metadata hot path: the SQLite connection's prepared-statement cache (bounded LRU
 * by SQL text, dropped on close) and queries compiled once (`precompile`), on a real
 * SQLite file and on PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetadataStore } from '../src/metadata/index.ts';
import { precompile } from '../src/metadata/precompiled.ts';
import { openPostgres } from '../src/metadata/postgres.ts';
import { cachingDatabase, openSqlite } from '../src/metadata/sqlite.ts';
import { createTestDatabase, freshKey, freshPubkey } from './helpers/metadata.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'noah-hot-path-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'noah.db');
}

describe('cachingDatabase', () => {
  it('prepares a SQL text once and hands back the same statement', async () => {
    const raw = new Database(await tempFile());
    const db = cachingDatabase(raw, 4);
    cleanups.push(async () => db.close());
    const a = db.prepare('select 1 as one');
    const b = db.prepare('select 1 as one');
    expect(b).toBe(a);
    expect(db.cachedStatements).toBe(1);
    expect(b.all([])).toEqual([{ one: 1 }]);
  });

  it('keeps at most maxStatements, dropping the least recently used', async () => {
    const db = cachingDatabase(new Database(await tempFile()), 2);
    cleanups.push(async () => db.close());
    const s1 = db.prepare('select 1');
    const s2 = db.prepare('select 2');
    expect(db.prepare('select 1')).toBe(s1); // now s2 is the least recently used
    db.prepare('select 3');
    expect(db.cachedStatements).toBe(2);
    expect(db.prepare('select 1')).toBe(s1);
    expect(db.prepare('select 2')).not.toBe(s2); // was dropped, prepared again
    expect(db.cachedStatements).toBe(2);
  });

  it('drops every statement on close, then closes the connection', async () => {
    const raw = new Database(await tempFile());
    const db = cachingDatabase(raw);
    db.prepare('select 1');
    db.close();
    expect(db.cachedStatements).toBe(0);
    expect(raw.open).toBe(false);
  });

  it('sees schema changes through a cached statement', async () => {
    const db = cachingDatabase(new Database(await tempFile()));
    cleanups.push(async () => db.close());
    db.prepare('create table t (a integer)').run([]);
    db.prepare('insert into t (a) values (?)').run([1]);
    const read = db.prepare('select * from t');
    expect(read.all([])).toEqual([{ a: 1 }]);
    db.prepare('alter table t add column b integer default 7').run([]);
    expect(db.prepare('select * from t')).toBe(read);
    expect(read.all([])).toEqual([{ a: 1, b: 7 }]);
  });

  it('rejects a bound that is not a positive integer', () => {
    const raw = new Database(':memory:');
    cleanups.push(async () => {
      raw.close();
    });
    expect(() => cachingDatabase(raw, 0)).toThrow(RangeError);
    expect(() => cachingDatabase(raw, 1.5)).toThrow(/maxStatements/);
  });

  it('runs a store whose transactions and reads share cached statements', async () => {
    const store = await createMetadataStore(`sqlite:${await tempFile()}`);
    cleanups.push(() => store.close());
    const now = new Date('2026-01-01T00:00:00Z');
    const user = await store.upsertUser(freshPubkey(), now);
    for (const version of [1, 2, 1] as const) {
      const objectKey = `b/${freshKey()}`;
      await store.createPendingUpload({
        objectKey,
        userId: user.id,
        version,
        declaredSize: 10,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
      });
      const done = await store.completeUpload({
        userId: user.id,
        objectKey,
        version,
        size: 10,
        now,
      });
      expect(done?.backup.objectKey).toBe(objectKey);
    }
    expect((await store.listBackups(user.id)).map((b) => b.version).sort()).toEqual([1, 2]);
  });
});

describe.each(['sqlite', 'postgres'] as const)('precompile on %s', (kind) => {
  it('runs one compiled query with the parameters of each call', async () => {
    const database = await createTestDatabase(kind);
    cleanups.push(database.cleanup);
    const store = await createMetadataStore(database.url);
    cleanups.push(() => store.close());
    const now = new Date('2026-01-01T00:00:00Z');
    const a = await store.upsertUser(freshPubkey(), now);
    const b = await store.upsertUser(freshPubkey(), now);
    const db =
      kind === 'sqlite'
        ? openSqlite(database.url.slice('sqlite:'.length))
        : openPostgres(database.url);
    cleanups.push(() => db.destroy());
    const byId = precompile(db, db.selectFrom('users').select('pubkey').where('id', '=', ''), 1);
    expect(await byId([a.id])).toEqual([{ pubkey: a.pubkey }]);
    expect(await byId([b.id])).toEqual([{ pubkey: b.pubkey }]);
    expect(await byId(['nobody'])).toEqual([]);
  });
});

describe('precompile', () => {
  it('refuses a wrong parameter count, when built and when called', async () => {
    const db = openSqlite(await tempFile());
    cleanups.push(() => db.destroy());
    const query = db.selectFrom('users').select('id').where('id', '=', '').where('pubkey', '=', '');
    expect(() => precompile(db, query, 1)).toThrow(/has 2 parameters, not 1/);
    const run = precompile(db, query, 2);
    await expect(run(['x'])).rejects.toThrow(RangeError);
  });
});
