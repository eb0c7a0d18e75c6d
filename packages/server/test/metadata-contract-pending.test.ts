/**
 * MetadataStore contract, part 5: pending uploads of incremental backups — reserving
 * them within the per-user limits, all or none (docs/OPERATIONS.md "Storage bounds"),
 * finding which objects are the caller's — and the upgrade of a database whose backups
 * predate referenced objects. Runs against every backend.
 */
import { type Kysely, Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createMetadataStore, parseDatabaseUrl } from '../src/metadata/index.ts';
import { openLibsql } from '../src/metadata/libsql.ts';
import { metadataMigrations } from '../src/metadata/migrations.ts';
import { openPostgres } from '../src/metadata/postgres.ts';
import type { MetadataDb } from '../src/metadata/schema.ts';
import { openSqlite } from '../src/metadata/sqlite.ts';
import type { MetadataStore, ObjectRef, UserRow } from '../src/stores/metadata.ts';
import {
  at,
  createTestDatabase,
  freshKey,
  freshPubkey,
  freshTestMetadataStores,
  metadataStoreKinds,
  MIN,
  newTestUser,
  sharedTestMetadataStore,
} from './helpers/metadata.ts';

/** A Kysely handle on a test database, without the store (and its migrations). */
async function rawDatabase(url: string): Promise<Kysely<MetadataDb>> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') return openSqlite(target.path);
  if (target.kind === 'libsql') return openLibsql(target.url, { inMemory: target.inMemory });
  return openPostgres(target.url);
}

describe.each(metadataStoreKinds)('MetadataStore contract (%s): pending objects', (kind) => {
  let store: MetadataStore;
  sharedTestMetadataStore(kind, (s) => (store = s));
  const { defer } = freshTestMetadataStores(kind);

  const newUser = (): Promise<UserRow> => newTestUser(store);

  async function pending(user: UserRow, size: number, objectOnly: boolean): Promise<string> {
    const objectKey = freshKey(objectOnly ? 'pack' : 'manifest');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version: 1,
      declaredSize: size,
      createdAt: at(0),
      expiresAt: at(15 * MIN),
      autoSlot: true,
      objectOnly,
    });
    return objectKey;
  }

  async function packs(user: UserRow, ...sizes: number[]): Promise<ObjectRef[]> {
    const out: ObjectRef[] = [];
    for (const size of sizes) out.push({ objectKey: await pending(user, size, true), size });
    return out;
  }

  async function backup(user: UserRow, objects: ObjectRef[], t: number) {
    const objectKey = await pending(user, 10, false);
    return store.completeUpload({
      userId: user.id,
      objectKey,
      version: 1,
      size: 10,
      now: at(t),
      objects,
    });
  }

  it("findUserObjects sees only the caller's own objects", async () => {
    const [u, other] = [await newUser(), await newUser()];
    const [p, q] = await packs(u, 10, 20);
    await backup(u, [q!], 1000);
    const [theirs] = await packs(other, 30);
    const found = await store.findUserObjects(u.id, [
      p!.objectKey,
      q!.objectKey,
      theirs!.objectKey,
    ]);
    expect(found.pending.map((r) => [r.objectKey, r.declaredSize, r.objectOnly])).toEqual([
      [p!.objectKey, 10, true],
    ]);
    expect(found.referenced).toEqual([q]);
  });

  describe('reservePendingUploads', () => {
    const row = (u: UserRow, size: number, objectOnly: boolean) => ({
      objectKey: freshKey('r'),
      userId: u.id,
      version: 1 as const,
      declaredSize: size,
      createdAt: at(0),
      expiresAt: at(15 * MIN),
      autoSlot: true,
      objectOnly,
    });

    it('records all or none, within counts by kind and bytes of both', async () => {
      const u = await newUser();
      const limits = { maxUploads: 2, maxObjects: 3, maxBytes: 1000 };
      const ok = (rows: ReturnType<typeof row>[]) =>
        store.reservePendingUploads(rows, at(1), limits);
      expect(await ok([row(u, 100, true), row(u, 100, true)])).toBe(true);
      expect(await ok([row(u, 100, true), row(u, 100, true)])).toBe(false); // 4 objects
      expect(await ok([row(u, 100, false), row(u, 100, false)])).toBe(true);
      expect(await ok([row(u, 100, false)])).toBe(false); // 3 uploads
      expect(await ok([row(u, 601, true)])).toBe(false); // 1001 bytes
      expect(await store.pendingUsage(u.id, at(1))).toEqual({ uploads: 2, objects: 2, bytes: 400 });
      expect(await ok([row(u, 600, true)])).toBe(true); // exactly at both limits
      expect(await store.pendingUsage(u.id, at(1))).toEqual({
        uploads: 2,
        objects: 3,
        bytes: 1000,
      });
      // An upload of the other kind is still refused by the bytes.
      expect(await ok([row(u, 1, false)])).toBe(false);
    });

    it('concurrent reservations never pass the limits together', async () => {
      const u = await newUser();
      const limits = { maxUploads: 4, maxObjects: 10, maxBytes: 10_000 };
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.reservePendingUploads(
            [row(u, 1000, true), row(u, 1000, true), row(u, 1000, true)],
            at(1),
            limits,
          ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(3);
      expect(await store.pendingUsage(u.id, at(1))).toEqual({
        uploads: 0,
        objects: 9,
        bytes: 9000,
      });
      // Expired ones no longer count.
      expect(await store.pendingUsage(u.id, at(15 * MIN))).toEqual({
        uploads: 0,
        objects: 0,
        bytes: 0,
      });
    });
  });

  it('an upgrade counts the backups made before referenced objects', async () => {
    const database = await createTestDatabase(kind);
    defer(database.cleanup);
    // The schema as it was before migration 0007, with a user holding two backups.
    const db = await rawDatabase(database.url);
    const before = Object.fromEntries(
      Object.entries(metadataMigrations).filter(([name]) => name < '0007'),
    );
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => before },
    }).migrateToLatest();
    expect(error).toBeUndefined();
    const bool = (v: boolean) => (kind === 'postgres' ? v : v ? 1 : 0);
    await db
      .insertInto('users')
      .values({
        id: 'u-old',
        pubkey: freshPubkey(),
        backup_enabled: bool(true),
        last_backup_at: 2,
        created_at: 0,
      })
      .execute();
    await db
      .insertInto('backups')
      .values([
        { user_id: 'u-old', version: 1, object_key: 'b/one', size: 300, created_at: 1 },
        { user_id: 'u-old', version: 2, object_key: 'b/two', size: 400, created_at: 2 },
      ])
      .execute();
    await db.destroy();

    const upgraded = await createMetadataStore(database.url);
    try {
      expect((await upgraded.stats(at(0))).bytesStored).toBe(700);
      expect((await upgraded.storageUsage(at(0))).backupBytes).toBe(700);
      const list = await upgraded.listBackups('u-old');
      expect(list.map((b) => [b.objectKey, b.totalSize, b.objectCount])).toEqual([
        ['b/two', 400, 0],
        ['b/one', 300, 0],
      ]);
      expect((await upgraded.getBackupObjects('u-old', 1))?.objects).toEqual([]);
      // A deletion keeps the count right.
      expect((await upgraded.deleteBackup('u-old', 1))?.releasedObjectKeys).toEqual([]);
      expect((await upgraded.stats(at(0))).bytesStored).toBe(400);
    } finally {
      await upgraded.close();
    }
  });
});
