/**
 * MetadataStore contract, checksums and the scrub (docs/OPERATIONS.md "Scrub"): a
 * completion records every object it stores first (slot object and uploaded ones) with
 * its SHA-256, and forgets those no slot holds any more; the scrub lists the least
 * recently read first and stamps what it read. Runs against every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetadataStore, ObjectRef, UserRow } from '../src/stores/metadata.ts';
import {
  freshKey,
  freshPubkey,
  metadataStoreKinds,
  openTestMetadataStore,
} from './helpers/metadata.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const MIN = 60_000;
const hex = (c: string): string => c.repeat(64);

describe.each(metadataStoreKinds)('MetadataStore contract (%s): checksums', (kind) => {
  let store: MetadataStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestMetadataStore(kind));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  const newUser = (): Promise<UserRow> => store.upsertUser(freshPubkey(), at(0));

  async function pending(user: UserRow, size: number, objectOnly: boolean, sha256?: string) {
    const objectKey = freshKey(objectOnly ? 'pack' : 'manifest');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version: 1,
      declaredSize: size,
      createdAt: at(0),
      expiresAt: at(15 * MIN),
      objectOnly,
      ...(sha256 === undefined ? {} : { sha256 }),
    });
    return objectKey;
  }

  async function backup(user: UserRow, objects: ObjectRef[], t: number, sha256?: string) {
    const objectKey = await pending(user, 10, false);
    const r = await store.completeUpload({
      userId: user.id,
      objectKey,
      version: 1,
      size: 10,
      now: at(t),
      objects,
      ...(sha256 === undefined ? {} : { sha256 }),
    });
    if (!r) throw new Error('not completed');
    return { objectKey, ...r };
  }

  const sums = async (keys: string[]) =>
    Object.fromEntries(
      (await store.getObjectChecksums(keys)).map((r) => [r.objectKey, r.sha256 ?? 'null']),
    );

  it('a pending upload keeps the SHA-256 its client declared', async () => {
    const u = await newUser();
    const key = await pending(u, 5, true, hex('a'));
    expect((await store.getPendingUpload(u.id, key))?.sha256).toBe(hex('a'));
    const none = await pending(u, 5, true);
    expect((await store.getPendingUpload(u.id, none))?.sha256).toBeUndefined();
  });

  it('a completion records what it stores first; a shared object keeps its first row', async () => {
    const u = await newUser();
    const pack = await pending(u, 7, true);
    const other = await pending(u, 8, true);
    const first = await backup(
      u,
      [
        { objectKey: pack, size: 7, sha256: hex('b') },
        { objectKey: other, size: 8, sha256: null },
      ],
      1000,
      hex('c'),
    );
    expect(await sums([first.objectKey, pack, other])).toEqual({
      [first.objectKey]: hex('c'),
      [pack]: hex('b'),
      [other]: 'null',
    });
    const rows = await store.getObjectChecksums([pack]);
    expect(rows).toEqual([
      { objectKey: pack, userId: u.id, size: 7, sha256: hex('b'), scrubbedAt: null },
    ]);
    // The next backup references the pack again (another value is not recorded) and
    // replaces the first: its slot object and `other` are forgotten, the pack stays.
    const second = await backup(u, [{ objectKey: pack, size: 7, sha256: hex('d') }], 2000);
    expect(second.replacedObjectKey).toBe(first.objectKey);
    expect(await sums([first.objectKey, pack, other, second.objectKey])).toEqual({
      [pack]: hex('b'),
      [second.objectKey]: 'null',
    });
    // Deleting it forgets its slot object and the pack no slot holds any more.
    await store.deleteBackup(u.id, 1);
    expect(await store.getObjectChecksums([pack, second.objectKey])).toEqual([]);
  });

  it('the scrub reads the never-read first, then the least recently read; stamps fill gaps', async () => {
    const u = await newUser();
    const before = await store.countStoredObjects();
    const a = await pending(u, 3, true);
    const b = await pending(u, 4, true);
    const done = await backup(
      u,
      [
        { objectKey: a, size: 3, sha256: hex('e') },
        { objectKey: b, size: 4 },
      ],
      3000,
    );
    expect(await store.countStoredObjects()).toBe(before + 3);
    // Everything else due is read now, so this user's objects are what is left to order.
    for (const r of await store.listScrubDue(before + 3))
      if (![a, b, done.objectKey].includes(r.objectKey))
        await store.markScrubbed(r.objectKey, at(-10 * MIN));
    await store.markScrubbed(a, at(5000), hex('f')); // has one: kept
    await store.markScrubbed(b, at(4000), hex('1')); // had none: filled
    const due = (await store.listScrubDue(before + 3)).slice(-3);
    expect(due.map((r) => r.objectKey)).toEqual([done.objectKey, b, a]);
    expect(due.map((r) => r.sha256)).toEqual([null, hex('1'), hex('e')]);
    expect(due.map((r) => r.scrubbedAt)).toEqual([null, at(4000), at(5000)]);
    expect((await store.listScrubDue(1))[0]?.objectKey).toBe(done.objectKey);
    // An object no longer stored is left alone.
    await store.markScrubbed(freshKey('gone'), at(6000), hex('2'));
    expect(await store.getObjectChecksums([freshKey('gone')])).toEqual([]);
  });

  it('validates arguments', async () => {
    await expect(store.markScrubbed('k', at(0), 'ABC')).rejects.toThrow(TypeError);
    await expect(store.listScrubDue(-1)).rejects.toThrow(RangeError);
    const u = await newUser();
    await expect(
      store.createPendingUpload({
        objectKey: freshKey('p'),
        userId: u.id,
        version: 1,
        declaredSize: 1,
        createdAt: at(0),
        expiresAt: at(1),
        sha256: 'nothex',
      }),
    ).rejects.toThrow(TypeError);
  });
});
