/**
 * MetadataStore contract: storage figures per user (the per-user distribution behind
 * `noah_user_stored_bytes` and `admin stats`' largest users), against every backend,
 * each test on a fresh database.
 */
import { describe, expect, it } from 'vitest';
import type { MetadataStore, UserRow } from '../src/stores/metadata.ts';
import {
  at,
  freshKey,
  freshPubkey,
  freshTestMetadataStores,
  metadataStoreKinds,
} from './helpers/metadata.ts';

describe.each(metadataStoreKinds)('MetadataStore contract (%s): storage per user', (kind) => {
  const { fresh } = freshTestMetadataStores(kind);
  async function backup(store: MetadataStore, user: UserRow, version: 1 | 2, size: number, t = 0) {
    const objectKey = freshKey('obj');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version,
      declaredSize: size,
      createdAt: at(t),
      expiresAt: at(t + 3_600_000),
    });
    await store.completeUpload({ userId: user.id, objectKey, version, size, now: at(t) });
  }

  it('buckets users by stored bytes and objects; users without objects are not counted', async () => {
    const store = await fresh();
    const users = await Promise.all(
      Array.from({ length: 5 }, () => store.upsertUser(freshPubkey(), at(0))),
    );
    const [a, b, c, d] = users as [UserRow, UserRow, UserRow, UserRow, UserRow];
    await backup(store, a, 1, 100); // 100 bytes, 1 object
    await backup(store, b, 1, 600);
    await backup(store, b, 2, 400); // 1000 bytes, 2 objects: on the bound
    await backup(store, c, 1, 3000);
    await backup(store, c, 2, 5000); // 8000 bytes, 2 objects
    await backup(store, d, 1, 1001); // 1001 bytes, 1 object
    const dist = await store.storageDistribution({ bytes: [1000, 5000], objects: [1] });
    expect(dist).toEqual({
      users: 4,
      bytes: { counts: [2, 1, 1], sum: 100 + 1000 + 8000 + 1001 },
      objects: { counts: [2, 2], sum: 6 },
    });
    // A replaced backup counts once: slot 1 of `a` replaced by a larger one.
    await backup(store, a, 1, 2000, 1000);
    expect((await store.storageDistribution({ bytes: [1000, 5000], objects: [1] })).bytes).toEqual({
      counts: [1, 2, 1],
      sum: 2000 + 1000 + 8000 + 1001,
    });
  });

  it('counts the objects a backup references, an object both slots share once', async () => {
    const store = await fresh();
    const u = await store.upsertUser(freshPubkey(), at(0));
    const pack = async (size: number) => {
      const objectKey = freshKey('pack');
      await store.createPendingUpload({
        objectKey,
        userId: u.id,
        version: 1,
        declaredSize: size,
        createdAt: at(0),
        expiresAt: at(3_600_000),
        objectOnly: true,
      });
      return { objectKey, size };
    };
    const manifest = async (
      version: 1 | 2,
      size: number,
      objects: { objectKey: string; size: number }[],
      t: number,
    ) => {
      const objectKey = freshKey('manifest');
      await store.createPendingUpload({
        objectKey,
        userId: u.id,
        version,
        declaredSize: size,
        createdAt: at(t),
        expiresAt: at(t + 3_600_000),
      });
      await store.completeUpload({ userId: u.id, objectKey, version, size, now: at(t), objects });
    };
    const base = await pack(4000);
    const delta = await pack(300);
    await manifest(1, 50, [base], 10);
    await manifest(2, 60, [base, delta], 20);
    // Two manifests, two packs (the base once): 50 + 60 + 4000 + 300 bytes.
    expect(await store.largestUsers(1)).toEqual([
      { userId: u.id, bytes: 4410, objects: 4, newestAt: at(20) },
    ]);
    const dist = await store.storageDistribution({ bytes: [4409], objects: [3] });
    expect(dist).toEqual({
      users: 1,
      bytes: { counts: [0, 1], sum: 4410 },
      objects: { counts: [0, 1], sum: 4 },
    });
  });

  it('an empty store and no bounds answer zeros', async () => {
    const store = await fresh();
    expect(await store.storageDistribution({ bytes: [10], objects: [] })).toEqual({
      users: 0,
      bytes: { counts: [0, 0], sum: 0 },
      objects: { counts: [0], sum: 0 },
    });
    expect(await store.largestUsers(5)).toEqual([]);
  });

  it('refuses bounds that are not ascending non-negative integers', async () => {
    const store = await fresh();
    await expect(store.storageDistribution({ bytes: [5, 5], objects: [] })).rejects.toThrow(
      RangeError,
    );
    await expect(store.storageDistribution({ bytes: [-1], objects: [] })).rejects.toThrow(
      RangeError,
    );
    await expect(
      store.storageDistribution({ bytes: 'x' as unknown as number[], objects: [] }),
    ).rejects.toThrow(TypeError);
    await expect(store.largestUsers(-1)).rejects.toThrow(RangeError);
  });

  it('lists the largest users by bytes, then by id, with their objects and newest backup', async () => {
    const store = await fresh();
    const users = await Promise.all(
      Array.from({ length: 4 }, () => store.upsertUser(freshPubkey(), at(0))),
    );
    const [a, b, c] = users as [UserRow, UserRow, UserRow, UserRow];
    await backup(store, a, 1, 500, 10);
    await backup(store, b, 1, 300, 20);
    await backup(store, b, 2, 400, 30);
    await backup(store, c, 1, 500, 40);
    const top = await store.largestUsers(3);
    const tied = [a.id, c.id].sort();
    expect(top).toEqual([
      { userId: b.id, bytes: 700, objects: 2, newestAt: at(30) },
      { userId: tied[0], bytes: 500, objects: 1, newestAt: tied[0] === a.id ? at(10) : at(40) },
      { userId: tied[1], bytes: 500, objects: 1, newestAt: tied[1] === a.id ? at(10) : at(40) },
    ]);
    expect(await store.largestUsers(1)).toHaveLength(1);
    expect(JSON.stringify(top)).not.toContain(a.pubkey);
  });
});
