/**
 * MetadataStore contract, part 1: challenges, users, sessions, backups. Runs against
 * every backend: one contract suite for every implementation. Each
 * backend gets one store for the file; every test uses fresh keys and users, so tests
 * do not see each other's rows. Part 2 (metadata-contract-ops) covers sweeping, leases,
 * stats and store lifecycle.
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
  sharedTestMetadataStore,
} from './helpers/metadata.ts';

describe.each(metadataStoreKinds)('MetadataStore contract (%s): auth and backups', (kind) => {
  let store: MetadataStore;
  sharedTestMetadataStore(kind, (s) => (store = s));

  const newUser = (): Promise<UserRow> => newTestUser(store);

  async function pending(
    user: UserRow,
    version: BackupVersion,
    opts: { size?: number; expiresAt?: Date } = {},
  ): Promise<string> {
    const objectKey = freshKey('obj');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version,
      declaredSize: opts.size ?? 100,
      createdAt: at(0),
      expiresAt: opts.expiresAt ?? at(15 * MIN),
    });
    return objectKey;
  }

  it('reports its backend kind', () => {
    expect(store.kind).toBe(kind);
  });

  describe('challenges (LUD-04 k1)', () => {
    it('a challenge is consumed once', async () => {
      const k1 = freshKey('k1');
      await store.createChallenge(k1, at(10 * MIN));
      expect(await store.consumeChallenge(k1, at(1))).toBe(true);
      expect(await store.consumeChallenge(k1, at(2))).toBe(false);
    });

    it('an unknown challenge is not consumed', async () => {
      expect(await store.consumeChallenge(freshKey('k1'), at(0))).toBe(false);
    });

    it('an expired challenge is refused, at and after its expiry', async () => {
      const k1 = freshKey('k1');
      await store.createChallenge(k1, at(1000));
      expect(await store.consumeChallenge(k1, at(1000))).toBe(false);
      expect(await store.consumeChallenge(k1, at(5000))).toBe(false);
      const k2 = freshKey('k1');
      await store.createChallenge(k2, at(1000));
      expect(await store.consumeChallenge(k2, at(999))).toBe(true);
    });

    it('of 20 racing consumes exactly one wins', async () => {
      const k1 = freshKey('k1');
      await store.createChallenge(k1, at(10 * MIN));
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.consumeChallenge(k1, at(1))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('prune deletes the expired ones and counts them', async () => {
      // Far in the future, so rows of the other tests are all expired: count relative.
      const base = 1_000_000_000;
      const live = freshKey('k1');
      await store.pruneChallenges(at(base));
      await store.createChallenge(freshKey('k1'), at(base + 10));
      await store.createChallenge(freshKey('k1'), at(base + 20));
      await store.createChallenge(live, at(base + 100));
      expect(await store.pruneChallenges(at(base + 20))).toBe(2);
      expect(await store.pruneChallenges(at(base + 20))).toBe(0);
      expect(await store.consumeChallenge(live, at(base + 50))).toBe(true);
    });
  });

  describe('users', () => {
    it('are created on first login with backups off until the wallet opts in', async () => {
      const pubkey = freshPubkey();
      const u = await store.upsertUser(pubkey, at(5));
      expect(u).toEqual({
        id: expect.any(String),
        pubkey,
        backupEnabled: false,
        lastBackupAt: null,
        createdAt: at(5),
      });
      expect(await store.getUser(u.id)).toEqual(u);
    });

    it('upsert is idempotent: a later login returns the same user unchanged', async () => {
      const pubkey = freshPubkey();
      const first = await store.upsertUser(pubkey, at(5));
      const again = await store.upsertUser(pubkey, at(50 * MIN));
      expect(again).toEqual(first);
    });

    it('racing first logins of one key produce one user', async () => {
      const pubkey = freshPubkey();
      const users = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.upsertUser(pubkey, at(i))),
      );
      expect(new Set(users.map((u) => u.id)).size).toBe(1);
    });

    it('distinct keys are distinct users', async () => {
      const [a, b] = await Promise.all([newUser(), newUser()]);
      expect(a.id).not.toBe(b.id);
    });

    it('findUserByPubkey reads a user without creating one', async () => {
      const pubkey = freshPubkey();
      expect(await store.findUserByPubkey(pubkey)).toBeNull();
      expect(await store.findUserByPubkey(pubkey)).toBeNull();
      const u = await store.upsertUser(pubkey, at(5));
      expect(await store.findUserByPubkey(pubkey)).toEqual(u);
    });

    it('getUser of an unknown id is null', async () => {
      expect(await store.getUser('no-such-user')).toBeNull();
    });

    it('an opted-in user stays opted in across later logins', async () => {
      const pubkey = freshPubkey();
      const u = await store.upsertUser(pubkey, at(5));
      await store.setBackupEnabled(u.id, true);
      expect((await store.upsertUser(pubkey, at(50 * MIN))).backupEnabled).toBe(true);
    });

    it('setBackupEnabled switches the flag and returns the row; unknown user → null', async () => {
      const u = await newUser();
      const on = await store.setBackupEnabled(u.id, true);
      expect(on).toEqual({ ...u, backupEnabled: true });
      const off = await store.setBackupEnabled(u.id, false);
      expect(off).toEqual({ ...u, backupEnabled: false });
      expect((await store.getUser(u.id))?.backupEnabled).toBe(false);
      expect((await store.setBackupEnabled(u.id, true))?.backupEnabled).toBe(true);
      expect(await store.setBackupEnabled('no-such-user', false)).toBeNull();
    });
  });

  describe('sessions', () => {
    it('a session is found by its token hash until it expires', async () => {
      const u = await newUser();
      const hash = freshKey('tok');
      await store.createSession(hash, u.id, at(60 * MIN), at(0));
      expect(await store.getSession(hash, at(59 * MIN))).toEqual({
        userId: u.id,
        expiresAt: at(60 * MIN),
      });
      expect(await store.getSession(hash, at(60 * MIN))).toBeNull();
    });

    it('an unknown token hash has no session', async () => {
      expect(await store.getSession(freshKey('tok'), at(0))).toBeNull();
    });

    it('a revoked session is gone; revoke is idempotent', async () => {
      const u = await newUser();
      const hash = freshKey('tok');
      const other = freshKey('tok');
      await store.createSession(hash, u.id, at(60 * MIN), at(0));
      await store.createSession(other, u.id, at(60 * MIN), at(0));
      await store.revokeSession(hash);
      await store.revokeSession(hash);
      await store.revokeSession(freshKey('tok'));
      expect(await store.getSession(hash, at(1))).toBeNull();
      expect((await store.getSession(other, at(1)))?.userId).toBe(u.id);
    });

    it('prune deletes the expired sessions and counts them', async () => {
      const base = 1_000_000_000;
      const u = await newUser();
      const live = freshKey('tok');
      await store.pruneSessions(at(base));
      await store.createSession(freshKey('tok'), u.id, at(base + 10), at(0));
      await store.createSession(freshKey('tok'), u.id, at(base + 20), at(0));
      await store.createSession(live, u.id, at(base + 100), at(0));
      expect(await store.pruneSessions(at(base + 20))).toBe(2);
      expect(await store.pruneSessions(at(base + 20))).toBe(0);
      expect((await store.getSession(live, at(base + 50)))?.userId).toBe(u.id);
    });
  });

  describe('backups', () => {
    it('pending → complete → list', async () => {
      const u = await newUser();
      const key = await pending(u, 1, { size: 1234 });
      expect(await store.getPendingUpload(u.id, key)).toEqual({
        objectKey: key,
        userId: u.id,
        version: 1,
        declaredSize: 1234,
        createdAt: at(0),
        expiresAt: at(15 * MIN),
        autoSlot: false,
        objectOnly: false,
      });
      expect(await store.countPendingUploads(u.id, at(1))).toBe(1);
      expect(await store.listBackups(u.id)).toEqual([]);

      const done = await store.completeUpload({
        userId: u.id,
        objectKey: key,
        version: 1,
        size: 1234,
        now: at(MIN),
      });
      const backup = {
        userId: u.id,
        version: 1,
        objectKey: key,
        size: 1234,
        createdAt: at(MIN),
        totalSize: 1234,
        objectCount: 0,
      };
      expect(done).toEqual({
        backup,
        replacedObjectKey: null,
        replacedCreatedAt: null,
        alreadyCompleted: false,
        releasedObjectKeys: [],
      });
      expect(await store.listBackups(u.id)).toEqual([backup]);
      expect(await store.getBackup(u.id, 1)).toEqual(backup);
      expect(await store.getBackup(u.id, 2)).toBeNull();
      expect(await store.getPendingUpload(u.id, key)).toBeNull();
      expect(await store.countPendingUploads(u.id, at(1))).toBe(0);
      expect((await store.getUser(u.id))?.lastBackupAt).toEqual(at(MIN));
    });

    it('another user cannot see a pending upload', async () => {
      const [a, b] = await Promise.all([newUser(), newUser()]);
      const key = await pending(a, 1);
      expect(await store.getPendingUpload(b.id, key)).toBeNull();
      expect(await store.countPendingUploads(b.id, at(1))).toBe(0);
    });

    it('countPendingUploads counts only the unexpired ones', async () => {
      const u = await newUser();
      await pending(u, 1, { expiresAt: at(10) });
      await pending(u, 2, { expiresAt: at(20) });
      await pending(u, 1, { expiresAt: at(30) });
      expect(await store.countPendingUploads(u.id, at(0))).toBe(3);
      expect(await store.countPendingUploads(u.id, at(20))).toBe(1);
      expect(await store.countPendingUploads(u.id, at(30))).toBe(0);
    });

    it('rotation: two slots, newest first; a new upload replaces a slot and returns the old key', async () => {
      const u = await newUser();
      const complete = async (version: BackupVersion, t: number) => {
        const objectKey = await pending(u, version);
        const r = await store.completeUpload({
          userId: u.id,
          objectKey,
          version,
          size: t,
          now: at(t),
        });
        return { objectKey, r };
      };
      const first = await complete(1, 1000);
      const second = await complete(2, 2000);
      expect((await store.listBackups(u.id)).map((b) => b.objectKey)).toEqual([
        second.objectKey,
        first.objectKey,
      ]);
      const third = await complete(1, 3000);
      expect(third.r?.replacedObjectKey).toBe(first.objectKey);
      expect(third.r?.replacedCreatedAt).toEqual(at(1000));
      expect(third.r?.alreadyCompleted).toBe(false);
      const list = await store.listBackups(u.id);
      expect(list.map((b) => [b.version, b.objectKey, b.size])).toEqual([
        [1, third.objectKey, 3000],
        [2, second.objectKey, 2000],
      ]);
      expect(await store.isObjectReferenced(first.objectKey)).toBe(false);
      expect((await store.getUser(u.id))?.lastBackupAt).toEqual(at(3000));
    });

    it('completing again is an idempotent repeat', async () => {
      const u = await newUser();
      const objectKey = await pending(u, 2);
      const args = { userId: u.id, objectKey, version: 2 as const, size: 77, now: at(MIN) };
      const first = await store.completeUpload(args);
      const repeat = await store.completeUpload({ ...args, now: at(2 * MIN) });
      expect(repeat).toEqual({
        backup: first?.backup,
        replacedObjectKey: null,
        replacedCreatedAt: null,
        alreadyCompleted: true,
        releasedObjectKeys: [],
      });
      expect(await store.listBackups(u.id)).toHaveLength(1);
    });

    it('racing completes of one upload: one completes, the others see alreadyCompleted', async () => {
      const u = await newUser();
      const old = await pending(u, 1);
      await store.completeUpload({ userId: u.id, objectKey: old, version: 1, size: 1, now: at(1) });
      const objectKey = await pending(u, 1);
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          store.completeUpload({ userId: u.id, objectKey, version: 1, size: 2, now: at(2) }),
        ),
      );
      expect(results.every((r) => r !== null)).toBe(true);
      const fresh = results.filter((r) => r?.alreadyCompleted === false);
      expect(fresh).toHaveLength(1);
      expect(fresh[0]?.replacedObjectKey).toBe(old);
      const repeats = results.filter((r) => r?.alreadyCompleted === true);
      expect(repeats.map((r) => r?.replacedObjectKey)).toEqual(Array(5).fill(null));
      expect((await store.getBackup(u.id, 1))?.objectKey).toBe(objectKey);
    });

    it('racing completes of two uploads into one slot replace each object exactly once', async () => {
      const u = await newUser();
      const old = await pending(u, 2);
      await store.completeUpload({ userId: u.id, objectKey: old, version: 2, size: 1, now: at(1) });
      const [a, b] = [await pending(u, 2), await pending(u, 2)];
      const results = await Promise.all(
        [a, b].map((objectKey) =>
          store.completeUpload({ userId: u.id, objectKey, version: 2, size: 2, now: at(2) }),
        ),
      );
      const replaced = results.map((r) => r?.replacedObjectKey).sort();
      const winner = (await store.getBackup(u.id, 2))?.objectKey;
      const loser = winner === a ? b : a;
      // The first completion replaced `old`, the second replaced the first: no object is
      // left unreferenced and unreported.
      expect(replaced).toEqual([old, loser].sort());
    });

    it("another user's object key → null, and the owner can still complete it", async () => {
      const [owner, thief] = await Promise.all([newUser(), newUser()]);
      const objectKey = await pending(owner, 1);
      const args = { objectKey, version: 1 as const, size: 5, now: at(1) };
      expect(await store.completeUpload({ ...args, userId: thief.id })).toBeNull();
      expect(await store.listBackups(thief.id)).toEqual([]);
      expect((await store.completeUpload({ ...args, userId: owner.id }))?.alreadyCompleted).toBe(
        false,
      );
      // Even once completed, the other user cannot claim it.
      expect(await store.completeUpload({ ...args, userId: thief.id })).toBeNull();
    });

    it('a completion for the wrong slot → null, and the pending upload stays', async () => {
      const u = await newUser();
      const objectKey = await pending(u, 1);
      const r = await store.completeUpload({
        userId: u.id,
        objectKey,
        version: 2,
        size: 5,
        now: at(1),
      });
      expect(r).toBeNull();
      expect(await store.getPendingUpload(u.id, objectKey)).not.toBeNull();
      expect(await store.listBackups(u.id)).toEqual([]);
    });

    it('an unknown upload, or one the sweeper removed, cannot be completed', async () => {
      const u = await newUser();
      const unknown = { userId: u.id, objectKey: freshKey('obj'), version: 1 as const, size: 5 };
      expect(await store.completeUpload({ ...unknown, now: at(1) })).toBeNull();
      const objectKey = await pending(u, 1, { expiresAt: at(100) });
      await store.deletePendingUpload(objectKey);
      const args = { userId: u.id, objectKey, version: 1 as const, size: 5 };
      expect(await store.completeUpload({ ...args, now: at(50) })).toBeNull();
      expect(await store.listBackups(u.id)).toEqual([]);
      expect((await store.getUser(u.id))?.lastBackupAt).toBeNull();
    });

    it('a pending upload past its expiry completes until the sweeper removes it', async () => {
      const u = await newUser();
      const objectKey = await pending(u, 1, { expiresAt: at(100) });
      const r = await store.completeUpload({
        userId: u.id,
        objectKey,
        version: 1,
        size: 5,
        now: at(200),
      });
      expect(r?.alreadyCompleted).toBe(false);
      expect(await store.isObjectReferenced(objectKey)).toBe(true);
    });

    it('deleteBackup returns the removed backup once, then null', async () => {
      const u = await newUser();
      const objectKey = await pending(u, 2);
      const done = await store.completeUpload({
        userId: u.id,
        objectKey,
        version: 2,
        size: 9,
        now: at(1),
      });
      expect(await store.deleteBackup(u.id, 2)).toEqual({
        backup: done?.backup,
        releasedObjectKeys: [],
      });
      expect(await store.deleteBackup(u.id, 2)).toBeNull();
      expect(await store.deleteBackup(u.id, 1)).toBeNull();
      expect(await store.listBackups(u.id)).toEqual([]);
      expect(await store.isObjectReferenced(objectKey)).toBe(false);
    });

    it("deleteBackup only touches the caller's own slot", async () => {
      const [a, b] = await Promise.all([newUser(), newUser()]);
      const objectKey = await pending(a, 1);
      await store.completeUpload({ userId: a.id, objectKey, version: 1, size: 9, now: at(1) });
      expect(await store.deleteBackup(b.id, 1)).toBeNull();
      expect(await store.getBackup(a.id, 1)).not.toBeNull();
    });

    it('rejects malformed arguments with TypeError / RangeError', async () => {
      const u = await newUser();
      await expect(store.getBackup(u.id, 3 as BackupVersion)).rejects.toThrow(RangeError);
      await expect(store.createChallenge('', at(1))).rejects.toThrow(TypeError);
      await expect(store.consumeChallenge('x', new Date(Number.NaN))).rejects.toThrow(RangeError);
      await expect(
        store.completeUpload({ userId: u.id, objectKey: 'o', version: 1, size: -1, now: at(1) }),
      ).rejects.toThrow(RangeError);
    });
  });
});
