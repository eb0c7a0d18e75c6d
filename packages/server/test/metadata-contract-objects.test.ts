/**
 * MetadataStore contract, part 4: backups that reference objects besides their slot
 * object (docs/API.md "Incremental backups"). A completion takes only the user's own
 * uploads and referenced objects, of the sizes recorded, refuses a `base` no slot holds,
 * and hands back exactly the objects no slot references any more; pending uploads are
 * reserved within per-user limits, all or none. Runs against every backend.
 */
import { describe, expect, it } from 'vitest';
import {
  CompletionRefusedError,
  type MetadataStore,
  type ObjectRef,
  type UserRow,
} from '../src/stores/metadata.ts';
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

describe.each(metadataStoreKinds)('MetadataStore contract (%s): referenced objects', (kind) => {
  let store: MetadataStore;
  sharedTestMetadataStore(kind, (s) => (store = s));

  const newUser = (): Promise<UserRow> => newTestUser(store);

  /** A pending upload: a slot object (`upload_url`) or, with `objectOnly`, an object. */
  async function pending(user: UserRow, size: number, objectOnly = false): Promise<string> {
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

  /** Pending objects of the given sizes, as references. */
  async function packs(user: UserRow, ...sizes: number[]): Promise<ObjectRef[]> {
    const out: ObjectRef[] = [];
    for (const size of sizes) out.push({ objectKey: await pending(user, size, true), size });
    return out;
  }

  /** Uploads a manifest of `size` and completes it with `objects` (and `base`). */
  async function backup(
    user: UserRow,
    objects: ObjectRef[],
    t: number,
    opts: { size?: number; base?: string } = {},
  ) {
    const objectKey = await pending(user, opts.size ?? 10);
    const r = await store.completeUpload({
      userId: user.id,
      objectKey,
      version: 1,
      size: opts.size ?? 10,
      now: at(t),
      objects,
      ...(opts.base === undefined ? {} : { base: opts.base }),
    });
    if (!r) throw new Error('completion found no upload');
    return r;
  }

  /** What a user's slots hold: slot key → referenced keys. */
  async function held(user: UserRow) {
    const out: Record<string, string[]> = {};
    for (const b of await store.listBackups(user.id)) {
      const got = await store.getBackupObjects(user.id, b.version);
      out[b.objectKey] = got?.objects.map((o) => o.objectKey) ?? [];
    }
    return out;
  }

  it('a completion references pending objects; they stop being pending', async () => {
    const u = await newUser();
    const objects = await packs(u, 300, 200, 100);
    expect(await store.pendingUsage(u.id, at(1))).toEqual({ uploads: 0, objects: 3, bytes: 600 });
    const r = await backup(u, objects, 1000, { size: 50 });
    expect(r.backup).toMatchObject({ size: 50, totalSize: 650, objectCount: 3 });
    expect(r.releasedObjectKeys).toEqual([]);
    expect(await store.getBackupObjects(u.id, r.backup.version)).toEqual({
      backup: r.backup,
      objects,
    });
    expect(await store.listBackups(u.id)).toEqual([r.backup]);
    expect(await store.pendingUsage(u.id, at(1))).toEqual({ uploads: 0, objects: 0, bytes: 0 });
    for (const o of objects) expect(await store.isObjectReferenced(o.objectKey)).toBe(true);
    expect(await store.getBackupObjects(u.id, 2)).toBeNull();
  });

  it('shared objects stay while either slot references them; released ones are handed back once', async () => {
    const u = await newUser();
    const [a, b, c] = await packs(u, 100, 100, 100);
    const first = await backup(u, [a!, b!], 1000);
    // Slot 2 shares b, adds c.
    const second = await backup(u, [b!, c!], 2000, { base: first.backup.objectKey });
    expect(second.backup.version).toBe(2);
    expect(second.releasedObjectKeys).toEqual([]);
    // Slot 1 (the older) is replaced by one that keeps c only: a goes, b stays (slot 2).
    const third = await backup(u, [c!], 3000, { base: second.backup.objectKey });
    expect(third.backup.version).toBe(1);
    expect(third.replacedObjectKey).toBe(first.backup.objectKey);
    expect(third.releasedObjectKeys).toEqual([a!.objectKey]);
    expect(await held(u)).toEqual({
      [second.backup.objectKey]: [b!.objectKey, c!.objectKey],
      [third.backup.objectKey]: [c!.objectKey],
    });
    expect(await store.isObjectReferenced(a!.objectKey)).toBe(false);
    expect(await store.isObjectReferenced(b!.objectKey)).toBe(true);
    // Deleting slot 2 releases b (no one else has it), not c (slot 1 has it).
    const deleted = await store.deleteBackup(u.id, 2);
    expect(deleted?.backup.objectKey).toBe(second.backup.objectKey);
    expect(deleted?.releasedObjectKeys).toEqual([b!.objectKey]);
    expect(await held(u)).toEqual({ [third.backup.objectKey]: [c!.objectKey] });
    const last = await store.deleteBackup(u.id, 1);
    expect(last?.releasedObjectKeys).toEqual([c!.objectKey]);
    expect(await store.isObjectReferenced(c!.objectKey)).toBe(false);
  });

  it('the storage total counts each referenced object once per user', async () => {
    const fresh = await openTestMetadataStore(kind);
    try {
      const s = fresh.store;
      const u = await s.upsertUser(freshPubkey(), at(0));
      const mk = async (size: number, objectOnly: boolean) => {
        const objectKey = freshKey('o');
        await s.createPendingUpload({
          objectKey,
          userId: u.id,
          version: 1,
          declaredSize: size,
          createdAt: at(0),
          expiresAt: at(15 * MIN),
          autoSlot: true,
          objectOnly,
        });
        return { objectKey, size };
      };
      const complete = async (objects: ObjectRef[], size: number, t: number) => {
        const m = await mk(size, false);
        return s.completeUpload({
          userId: u.id,
          objectKey: m.objectKey,
          version: 1,
          size,
          now: at(t),
          objects,
        });
      };
      const [a, b] = [await mk(1000, true), await mk(2000, true)];
      expect(await s.storageUsage(at(1))).toEqual({ backupBytes: 0, pendingBytes: 3000 });
      await complete([a, b], 10, 1000);
      await complete([a], 20, 2000);
      // a once, b once, and the two slot objects.
      expect(await s.storageUsage(at(1))).toEqual({ backupBytes: 3030, pendingBytes: 0 });
      expect((await s.stats(at(1))).bytesStored).toBe(3030);
      await s.deleteBackup(u.id, 1); // the first: b goes
      expect(await s.storageUsage(at(1))).toEqual({ backupBytes: 1020, pendingBytes: 0 });
    } finally {
      await fresh.cleanup();
    }
  });

  describe('refusals change nothing', () => {
    async function expectRefused(
      u: UserRow,
      objects: ObjectRef[],
      reason: string,
      opts: { base?: string } = {},
    ) {
      const before = { slots: await held(u), usage: await store.pendingUsage(u.id, at(1)) };
      const manifest = await pending(u, 10);
      const attempt = store.completeUpload({
        userId: u.id,
        objectKey: manifest,
        version: 1,
        size: 10,
        now: at(5000),
        objects,
        ...opts,
      });
      await expect(attempt).rejects.toBeInstanceOf(CompletionRefusedError);
      await expect(attempt).rejects.toMatchObject({ reason });
      expect(await held(u)).toEqual(before.slots);
      // The manifest's upload and every pending object are still there.
      expect(await store.pendingUsage(u.id, at(1))).toEqual({
        ...before.usage,
        uploads: before.usage.uploads + 1,
        bytes: before.usage.bytes + 10,
      });
      expect(await store.cancelPendingUpload(u.id, manifest)).not.toBeNull();
    }

    it("another user's pending or referenced object", async () => {
      const [u, other] = [await newUser(), await newUser()];
      const theirs = await packs(other, 100, 100);
      await backup(other, [theirs[1]!], 1000);
      const otherSlots = await held(other);
      const mine = await packs(u, 50);
      await expectRefused(u, [...mine, theirs[0]!], 'object_unavailable');
      await expectRefused(u, [theirs[1]!], 'object_unavailable');
      expect(await held(other)).toEqual(otherSlots);
      expect(await store.getPendingUpload(other.id, theirs[0]!.objectKey)).not.toBeNull();
    });

    it('an object never issued, a wrong size, a released object', async () => {
      const u = await newUser();
      const [a, b] = await packs(u, 100, 100);
      await expectRefused(u, [{ objectKey: freshKey('never'), size: 10 }], 'object_unavailable');
      await expectRefused(u, [{ ...a!, size: 99 }], 'object_unavailable');
      const first = await backup(u, [a!], 1000);
      await expectRefused(u, [{ ...a!, size: 101 }], 'object_unavailable');
      await backup(u, [b!], 2000);
      await backup(u, [b!], 3000); // replaces the first: a is released
      expect(await store.isObjectReferenced(a!.objectKey)).toBe(false);
      await expectRefused(u, [a!], 'object_unavailable');
      // Nor can a slot object be referenced as an object.
      await expectRefused(
        u,
        [{ objectKey: first.backup.objectKey, size: 10 }],
        'object_unavailable',
      );
    });

    it('a base no slot holds: base_changed', async () => {
      const u = await newUser();
      const first = await backup(u, await packs(u, 100), 1000);
      await backup(u, [], 2000);
      await backup(u, [], 3000); // replaces the first
      await expectRefused(u, [], 'base_changed', { base: first.backup.objectKey });
      await expectRefused(u, await packs(u, 5), 'base_changed', { base: freshKey('nobody') });
    });
  });

  it('an upload from upload_urls never becomes a slot object', async () => {
    const u = await newUser();
    const key = await pending(u, 100, true);
    const args = { userId: u.id, objectKey: key, version: 1 as const, size: 100, now: at(1) };
    expect(await store.completeUpload(args)).toBeNull();
    expect(await store.listBackups(u.id)).toEqual([]);
    expect(await store.getPendingUpload(u.id, key)).toMatchObject({ objectOnly: true });
  });

  it('a repeat answers the backup whatever base it names', async () => {
    const u = await newUser();
    const first = await backup(u, [], 1000);
    const objects = await packs(u, 100);
    const manifest = await pending(u, 10);
    const args = {
      userId: u.id,
      objectKey: manifest,
      version: 1 as const,
      size: 10,
      now: at(2000),
      objects,
      base: first.backup.objectKey,
    };
    const done = await store.completeUpload(args);
    await backup(u, [], 3000); // replaces the first (the base)
    const again = await store.completeUpload({ ...args, now: at(4000) });
    expect(again).toMatchObject({ backup: done?.backup, alreadyCompleted: true });
  });

  describe('races', () => {
    it.each([
      ['the older slot', false],
      ['the newer slot', true],
    ])(
      'two completions on one base in %s: every object either slot needs stays',
      async (_, newer) => {
        for (let i = 0; i < 3; i++) {
          const u = await newUser();
          const shared = await packs(u, 100, 100);
          const olderKey = (await backup(u, newer ? [] : shared, 1000)).backup.objectKey;
          const newerKey = (await backup(u, newer ? shared : [], 1500)).backup.objectKey;
          const base = newer ? newerKey : olderKey;
          const contenders = await Promise.all(
            [0, 1].map(async (n) => {
              const mine = [...shared, ...(await packs(u, 10 + n))];
              return backup(u, mine, 2000 + n, { base }).then(
                (r) => ({ ok: true as const, r }),
                (err: unknown) => ({ ok: false as const, err }),
              );
            }),
          );
          const won = contenders.flatMap((c) => (c.ok ? [c.r] : []));
          // On the older slot the first completion replaces the base, so the second is
          // refused; on the newer one the first replaces the other slot and the second the
          // base: both succeed.
          expect(won).toHaveLength(newer ? 2 : 1);
          for (const c of contenders)
            if (!c.ok) expect(c.err).toMatchObject({ reason: 'base_changed' });
          // No object a slot references was handed back for deletion.
          const released = new Set(won.flatMap((r) => r.releasedObjectKeys));
          const slots = await held(u);
          for (const keys of Object.values(slots))
            for (const k of keys) expect(released.has(k)).toBe(false);
          for (const s of shared) expect(await store.isObjectReferenced(s.objectKey)).toBe(true);
        }
      },
    );

    it('a cancel racing a completion that references the upload: exactly one wins', async () => {
      for (let i = 0; i < 4; i++) {
        const u = await newUser();
        const [p] = await packs(u, 100);
        const [done, cancelled] = await Promise.all([
          backup(u, [p!], 1000).then(
            () => true,
            (err: unknown) => {
              expect(err).toBeInstanceOf(CompletionRefusedError);
              return false;
            },
          ),
          store.cancelPendingUpload(u.id, p!.objectKey),
        ]);
        expect(done !== (cancelled !== null)).toBe(true);
        expect(await store.isObjectReferenced(p!.objectKey)).toBe(done);
      }
    });
  });
});
