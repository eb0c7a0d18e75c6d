/**
 * MetadataStore contract, part 2: sweeping queues, leases, stats, integrity, and the
 * store's lifecycle (ping, close, migrations on reopen, two instances on one database,
 * concurrent opens on PostgreSQL). Runs against every backend. Tests that read global
 * state (queues, stats) get a fresh database each.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataStore } from '../src/metadata/index.ts';
import { metadataMigrations } from '../src/metadata/migrations.ts';
import type { MetadataStore, UserRow } from '../src/stores/metadata.ts';
import {
  at,
  createTestDatabase,
  freshKey,
  freshPubkey,
  freshTestMetadataStores,
  type MetadataStoreKind,
  metadataStoreKinds,
  openTestMetadataStore,
} from './helpers/metadata.ts';

/** Names of the migrations recorded in the database, read around the store. */
async function recordedMigrations(kind: MetadataStoreKind, url: string): Promise<string[]> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ name: string }>(
        'select name from kysely_migration order by name',
      );
      return r.rows.map((row) => row.name);
    } finally {
      await client.end();
    }
  }
  const path = url.slice(kind === 'sqlite' ? 'sqlite:'.length : 'file:'.length);
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('select name from kysely_migration order by name').all() as {
      name: string;
    }[];
    return rows.map((row) => row.name);
  } finally {
    db.close();
  }
}

describe.each(metadataStoreKinds)(
  'MetadataStore contract (%s): sweeping, leases, lifecycle',
  (kind) => {
    const { fresh, defer } = freshTestMetadataStores(kind);
    async function pending(store: MetadataStore, user: UserRow, expiresAt: Date): Promise<string> {
      const objectKey = freshKey('obj');
      await store.createPendingUpload({
        objectKey,
        userId: user.id,
        version: 1,
        declaredSize: 10,
        createdAt: at(0),
        expiresAt,
      });
      return objectKey;
    }

    describe('sweeping', () => {
      it('lists expired pending uploads oldest first, strictly before the cutoff, up to the limit', async () => {
        const store = await fresh();
        const u = await store.upsertUser(freshPubkey(), at(0));
        const k30 = await pending(store, u, at(30));
        const k10 = await pending(store, u, at(10));
        const k20 = await pending(store, u, at(20));
        await pending(store, u, at(100));
        const keys = async (before: number, limit: number) =>
          (await store.listExpiredPendingUploads(at(before), limit)).map((p) => p.objectKey);
        expect(await keys(50, 10)).toEqual([k10, k20, k30]);
        expect(await keys(50, 2)).toEqual([k10, k20]);
        expect(await keys(10, 10)).toEqual([]);
        expect(await keys(11, 10)).toEqual([k10]);
        const [row] = await store.listExpiredPendingUploads(at(11), 1);
        expect(row).toEqual({
          objectKey: k10,
          userId: u.id,
          version: 1,
          declaredSize: 10,
          createdAt: at(0),
          expiresAt: at(10),
          autoSlot: false,
          objectOnly: false,
        });
      });

      it('deletePendingUpload removes the row and is idempotent', async () => {
        const store = await fresh();
        const u = await store.upsertUser(freshPubkey(), at(0));
        const key = await pending(store, u, at(10));
        await store.deletePendingUpload(key);
        await store.deletePendingUpload(key);
        expect(await store.getPendingUpload(u.id, key)).toBeNull();
        expect(await store.listExpiredPendingUploads(at(50), 10)).toEqual([]);
      });

      it('the deletion queue is idempotent, ordered by enqueue time, and limited', async () => {
        const store = await fresh();
        const [a, b, c] = ['obj-a', 'obj-b', 'obj-c'];
        await store.enqueueObjectDeletion(a, at(2));
        await store.enqueueObjectDeletion(b, at(1));
        await store.enqueueObjectDeletion(a, at(5));
        await store.enqueueObjectDeletion(c, at(3));
        expect(await store.listObjectDeletions(10)).toEqual([b, a, c]);
        expect(await store.listObjectDeletions(1)).toEqual([b]);
        await store.removeObjectDeletion(b);
        await store.removeObjectDeletion(b);
        await store.removeObjectDeletion('never-queued');
        expect(await store.listObjectDeletions(10)).toEqual([a, c]);
      });

      it('isObjectReferenced sees pending uploads and completed backups only', async () => {
        const store = await fresh();
        const u = await store.upsertUser(freshPubkey(), at(0));
        const key = await pending(store, u, at(1000));
        expect(await store.isObjectReferenced(key)).toBe(true);
        await store.completeUpload({
          userId: u.id,
          objectKey: key,
          version: 1,
          size: 10,
          now: at(1),
        });
        expect(await store.isObjectReferenced(key)).toBe(true);
        await store.enqueueObjectDeletion('queued-only', at(1));
        expect(await store.isObjectReferenced('queued-only')).toBe(false);
        await store.deleteBackup(u.id, 1);
        expect(await store.isObjectReferenced(key)).toBe(false);
      });
    });

    describe('integrity', () => {
      it('refuses sessions and pending uploads of unknown users (foreign keys)', async () => {
        const store = await fresh();
        await expect(
          store.createSession(freshKey('tok'), 'ghost', at(10), at(0)),
        ).rejects.toThrow();
        await expect(
          store.createPendingUpload({
            objectKey: freshKey('obj'),
            userId: 'ghost',
            version: 1,
            declaredSize: 1,
            createdAt: at(0),
            expiresAt: at(10),
          }),
        ).rejects.toThrow();
      });
    });

    describe('leases', () => {
      let store: MetadataStore;
      let cleanup: () => Promise<void>;
      beforeAll(async () => {
        ({ store, cleanup } = await openTestMetadataStore(kind));
      });
      afterAll(async () => {
        await cleanup?.();
      });

      it('a held lease is refused to others and renewed by its holder', async () => {
        const name = freshKey('lease');
        expect(await store.tryAcquireLease(name, 'a', at(0), 1000)).toBe(true);
        expect(await store.tryAcquireLease(name, 'b', at(1), 1000)).toBe(false);
        expect(await store.tryAcquireLease(name, 'a', at(2), 1000)).toBe(true);
      });

      it('of 10 racing holders exactly one wins', async () => {
        const name = freshKey('lease');
        const wins = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.tryAcquireLease(name, `h${i}`, at(0), 60_000)),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
      });

      it('an expired lease is taken over', async () => {
        const name = freshKey('lease');
        expect(await store.tryAcquireLease(name, 'a', at(0), 1000)).toBe(true);
        expect(await store.tryAcquireLease(name, 'b', at(999), 1000)).toBe(false);
        expect(await store.tryAcquireLease(name, 'b', at(1000), 1000)).toBe(true);
        expect(await store.tryAcquireLease(name, 'a', at(1001), 1000)).toBe(false);
      });

      it('renewal extends the expiry from the renewal time', async () => {
        const name = freshKey('lease');
        await store.tryAcquireLease(name, 'a', at(0), 1000);
        expect(await store.tryAcquireLease(name, 'a', at(900), 1000)).toBe(true);
        expect(await store.tryAcquireLease(name, 'b', at(1500), 1000)).toBe(false);
        expect(await store.tryAcquireLease(name, 'b', at(1900), 1000)).toBe(true);
      });

      it('release frees the lease only for its holder, idempotently', async () => {
        const name = freshKey('lease');
        await store.tryAcquireLease(name, 'a', at(0), 60_000);
        await store.releaseLease(name, 'b');
        expect(await store.tryAcquireLease(name, 'b', at(1), 60_000)).toBe(false);
        await store.releaseLease(name, 'a');
        await store.releaseLease(name, 'a');
        expect(await store.tryAcquireLease(name, 'b', at(2), 60_000)).toBe(true);
        await store.releaseLease(freshKey('lease'), 'nobody');
      });
    });

    describe('operations', () => {
      it('stats counts users, enabled users, backups and stored bytes', async () => {
        const store = await fresh();
        expect(await store.stats(at(0))).toEqual({
          users: 0,
          enabledUsers: 0,
          backups: 0,
          bytesStored: 0,
        });
        const [u1, u2, u3] = await Promise.all(
          [1, 2, 3].map(() => store.upsertUser(freshPubkey(), at(0))),
        );
        if (!u1 || !u2 || !u3) throw new Error('users');
        // u1 and u2 opt in; u3 never does (new users start with backups off).
        await store.setBackupEnabled(u1.id, true);
        await store.setBackupEnabled(u2.id, true);
        for (const [user, size] of [
          [u1, 100],
          [u2, 250],
        ] as const) {
          const objectKey = await pending(store, user, at(1000));
          await store.completeUpload({ userId: user.id, objectKey, version: 1, size, now: at(1) });
        }
        await pending(store, u3, at(1000)); // pending uploads are not stored bytes
        expect(await store.stats(at(2))).toEqual({
          users: 3,
          enabledUsers: 2,
          backups: 2,
          bytesStored: 350,
        });
        await store.deleteBackup(u1.id, 1);
        expect(await store.stats(at(3))).toMatchObject({ backups: 1, bytesStored: 250 });
      });

      it('ping answers while open; close is idempotent; a closed store fails', async () => {
        const { store, cleanup } = await openTestMetadataStore(kind);
        defer(cleanup);
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        await store.close();
        await expect(store.ping()).rejects.toThrow();
      });
    });

    describe('migrations and instances', () => {
      it('reopening keeps the data and applies no migration twice', async () => {
        const database = await createTestDatabase(kind);
        defer(database.cleanup);
        const first = await createMetadataStore(database.url);
        const user = await first.upsertUser(freshPubkey(), at(0));
        await first.createChallenge('k1-survives', at(1000));
        await first.close();
        const second = await createMetadataStore(database.url);
        try {
          expect(await second.getUser(user.id)).toEqual(user);
          expect(await second.consumeChallenge('k1-survives', at(1))).toBe(true);
        } finally {
          await second.close();
        }
        expect(await recordedMigrations(kind, database.url)).toEqual(
          Object.keys(metadataMigrations),
        );
      });

      it('two instances on one database share challenges, users and leases', async () => {
        const database = await createTestDatabase(kind);
        defer(database.cleanup);
        const a = await createMetadataStore(database.url);
        const b = await createMetadataStore(database.url);
        try {
          await a.createChallenge('k1-shared', at(1000));
          expect(await b.consumeChallenge('k1-shared', at(1))).toBe(true);
          expect(await a.consumeChallenge('k1-shared', at(2))).toBe(false);
          const pubkey = freshPubkey();
          expect((await b.upsertUser(pubkey, at(5))).id).toBe(
            (await a.upsertUser(pubkey, at(3))).id,
          );
          expect(await a.tryAcquireLease('scheduler', 'instance-a', at(0), 60_000)).toBe(true);
          expect(await b.tryAcquireLease('scheduler', 'instance-b', at(1), 60_000)).toBe(false);
        } finally {
          await a.close();
          await b.close();
        }
      });
    });
  },
);

describe('MetadataStore (postgres): several instances starting at once', () => {
  // Two server instances starting at once on one PostgreSQL: Kysely's migrator holds a
  // session advisory lock (pg_advisory_lock) while it migrates, and tolerates the race
  // on creating its own bookkeeping tables. (SQLite is one machine, one instance.)
  it('concurrent opens of a fresh database all succeed', async () => {
    const database = await createTestDatabase('postgres');
    try {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => createMetadataStore(database.url)),
      );
      try {
        await stores[0]?.createChallenge('k1-race', at(1000));
        const consumed = await Promise.all(stores.map((s) => s.consumeChallenge('k1-race', at(1))));
        expect(consumed.filter(Boolean)).toHaveLength(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      expect(await recordedMigrations('postgres', database.url)).toEqual(
        Object.keys(metadataMigrations),
      );
    } finally {
      await database.cleanup();
    }
  });
});
