/**
 * MetadataStore contract, part 3: how uploads end — the slot a completion takes when the
 * client named none (docs/API.md "complete_upload"), cancellation, deletions that wait
 * for upload URLs to die, and the storage totals (docs/OPERATIONS.md "Storage bounds").
 * Runs against every backend.
 */
import type { BackupVersion } from '@noah-backup/core/api';
import { describe, expect, it } from 'vitest';
import type { MetadataStore, UserRow } from '../src/stores/metadata.ts';
import {
  at,
  freshKey,
  freshPubkey,
  metadataStoreKinds,
  MIN,
  newTestUser,
  openTestMetadataStore,
  sharedTestMetadataStore,
} from './helpers/metadata.ts';

describe.each(metadataStoreKinds)('MetadataStore contract (%s): uploads', (kind) => {
  let store: MetadataStore;
  sharedTestMetadataStore(kind, (s) => (store = s));

  const newUser = (): Promise<UserRow> => newTestUser(store);

  async function pending(
    user: UserRow,
    version: BackupVersion,
    opts: { autoSlot?: boolean; expiresAt?: Date; size?: number } = {},
  ): Promise<string> {
    const objectKey = freshKey('obj');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version,
      declaredSize: opts.size ?? 100,
      createdAt: at(0),
      expiresAt: opts.expiresAt ?? at(15 * MIN),
      ...(opts.autoSlot === undefined ? {} : { autoSlot: opts.autoSlot }),
    });
    return objectKey;
  }

  const complete = (user: UserRow, objectKey: string, version: BackupVersion, t: number) =>
    store.completeUpload({ userId: user.id, objectKey, version, size: 5, now: at(t) });

  describe('the slot of an autoSlot upload is chosen at completion', () => {
    it('is remembered on the pending row', async () => {
      const u = await newUser();
      const auto = await pending(u, 1, { autoSlot: true });
      const pinned = await pending(u, 1);
      expect((await store.getPendingUpload(u.id, auto))?.autoSlot).toBe(true);
      expect((await store.getPendingUpload(u.id, pinned))?.autoSlot).toBe(false);
    });

    it('takes an empty slot, whatever slot was offered', async () => {
      const u = await newUser();
      const x = await pending(u, 1, { autoSlot: true });
      const y = await pending(u, 1, { autoSlot: true });
      expect((await complete(u, y, 1, 1000))?.backup.version).toBe(1);
      const rx = await complete(u, x, 1, 2000);
      expect(rx?.backup.version).toBe(2);
      expect(rx?.replacedObjectKey).toBeNull();
      expect((await store.listBackups(u.id)).map((b) => b.objectKey)).toEqual([x, y]);
    });

    it('replaces the older completed backup, not the slot offered', async () => {
      const u = await newUser();
      const a = await pending(u, 1);
      await complete(u, a, 1, 1000);
      const b = await pending(u, 2);
      await complete(u, b, 2, 2000);
      const x = await pending(u, 1, { autoSlot: true }); // offered the older slot, 1
      const y = await pending(u, 1, { autoSlot: true });
      const ry = await complete(u, y, 1, 3000);
      expect([ry?.backup.version, ry?.replacedObjectKey]).toEqual([1, a]);
      // Slot 1 now holds y, the newest: x replaces b, the older one.
      const rx = await complete(u, x, 1, 4000);
      expect([rx?.backup.version, rx?.replacedObjectKey]).toEqual([2, b]);
      expect((await store.listBackups(u.id)).map((r) => r.objectKey)).toEqual([x, y]);
    });

    it('a repeat finds the backup in the slot it took', async () => {
      const u = await newUser();
      const y = await pending(u, 1, { autoSlot: true });
      await complete(u, y, 1, 1000);
      const x = await pending(u, 1, { autoSlot: true });
      const first = await complete(u, x, 1, 2000);
      expect(first?.backup.version).toBe(2);
      expect(await complete(u, x, 1, 3000)).toEqual({
        backup: first?.backup,
        replacedObjectKey: null,
        replacedCreatedAt: null,
        alreadyCompleted: true,
        releasedObjectKeys: [],
      });
    });

    it('racing completions keep two backups and report every replaced object once', async () => {
      const u = await newUser();
      const keys: string[] = [];
      for (let i = 0; i < 5; i++) keys.push(await pending(u, 1, { autoSlot: true }));
      const results = await Promise.all(keys.map((k, i) => complete(u, k, 1, 1000 + i)));
      expect(results.every((r) => r !== null && !r.alreadyCompleted)).toBe(true);
      const kept = (await store.listBackups(u.id)).map((b) => b.objectKey);
      expect(kept).toHaveLength(2);
      const replaced = results.map((r) => r?.replacedObjectKey).filter((k) => k != null);
      // Every object is either kept or handed back for deletion, exactly once.
      expect([...kept, ...replaced].sort()).toEqual([...keys].sort());
    });
  });

  describe('cancelPendingUpload', () => {
    it("removes and returns the caller's own pending upload, once", async () => {
      const u = await newUser();
      const key = await pending(u, 2, { autoSlot: true, size: 44 });
      const row = await store.cancelPendingUpload(u.id, key);
      expect(row).toMatchObject({ objectKey: key, userId: u.id, declaredSize: 44, autoSlot: true });
      expect(await store.getPendingUpload(u.id, key)).toBeNull();
      expect(await store.cancelPendingUpload(u.id, key)).toBeNull();
      expect(
        await store.completeUpload({
          userId: u.id,
          objectKey: key,
          version: 2,
          size: 44,
          now: at(1),
        }),
      ).toBeNull();
    });

    it("refuses another user's upload and a completed backup's key", async () => {
      const [a, b] = [await newUser(), await newUser()];
      const key = await pending(a, 1);
      expect(await store.cancelPendingUpload(b.id, key)).toBeNull();
      expect(await store.getPendingUpload(a.id, key)).not.toBeNull();
      await complete(a, key, 1, 1000);
      expect(await store.cancelPendingUpload(a.id, key)).toBeNull();
      expect(await store.isObjectReferenced(key)).toBe(true);
    });

    it('racing a completion: exactly one wins', async () => {
      for (let i = 0; i < 5; i++) {
        const u = await newUser();
        const key = await pending(u, 1);
        const [done, cancelled] = await Promise.all([
          complete(u, key, 1, 1000),
          store.cancelPendingUpload(u.id, key),
        ]);
        expect((done === null) !== (cancelled === null)).toBe(true);
        expect(await store.isObjectReferenced(key)).toBe(done !== null);
      }
    });
  });

  describe('deletions that wait', () => {
    it('a queued key is listed only once due; a later time wins', async () => {
      const now = freshKey('now');
      const later = freshKey('later');
      await store.enqueueObjectDeletion(now, at(0));
      await store.enqueueObjectDeletion(later, at(0), at(10 * MIN));
      await store.enqueueObjectDeletion(later, at(1), at(5 * MIN)); // earlier: ignored
      const due = async (t: number) =>
        (await store.listObjectDeletions(1000, at(t)))
          .filter((k) => k === now || k === later)
          .sort();
      expect(await due(MIN)).toEqual([now]);
      expect(await due(10 * MIN)).toEqual([now, later].sort());
      await store.enqueueObjectDeletion(now, at(2), at(20 * MIN)); // later: wins
      expect(await due(10 * MIN)).toEqual([later]);
      // Without a time, every queued key.
      const all = await store.listObjectDeletions(1000);
      expect(all).toContain(now);
      expect(all).toContain(later);
      await store.removeObjectDeletion(now);
      await store.removeObjectDeletion(later);
    });
  });

  describe('storageUsage', () => {
    it('sums completed backups and live pending uploads', async () => {
      const fresh = await openTestMetadataStore(kind);
      try {
        const s = fresh.store;
        expect(await s.storageUsage(at(0))).toEqual({ backupBytes: 0, pendingBytes: 0 });
        const u = await s.upsertUser(freshPubkey(), at(0));
        const mk = async (size: number, expiresAt: Date) => {
          const objectKey = freshKey('obj');
          await s.createPendingUpload({
            objectKey,
            userId: u.id,
            version: 1,
            declaredSize: size,
            createdAt: at(0),
            expiresAt,
          });
          return objectKey;
        };
        const done = await mk(1000, at(10 * MIN));
        await s.completeUpload({
          userId: u.id,
          objectKey: done,
          version: 1,
          size: 1000,
          now: at(1),
        });
        await mk(300, at(10 * MIN));
        await mk(50, at(MIN));
        expect(await s.storageUsage(at(0))).toEqual({ backupBytes: 1000, pendingBytes: 350 });
        expect(await s.storageUsage(at(2 * MIN))).toEqual({ backupBytes: 1000, pendingBytes: 300 });
      } finally {
        await fresh.cleanup();
      }
    });
  });
});
