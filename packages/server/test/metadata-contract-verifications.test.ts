/**
 * MetadataStore contract, verifications (docs/API.md "Verification"): one per slot,
 * recorded only while the slot holds the verified backup, replaced by the next, and void
 * once the slot holds another backup or none. Runs against every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupVersion } from '@noah-backup/core/api';
import type { MetadataStore, UserRow } from '../src/stores/metadata.ts';
import {
  freshKey,
  freshPubkey,
  metadataStoreKinds,
  openTestMetadataStore,
} from './helpers/metadata.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const MIN = 60_000;

describe.each(metadataStoreKinds)('MetadataStore contract (%s): verifications', (kind) => {
  let store: MetadataStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestMetadataStore(kind));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  const newUser = (): Promise<UserRow> => store.upsertUser(freshPubkey(), at(0));

  async function backup(user: UserRow, version: BackupVersion, t: number) {
    const objectKey = freshKey('backup');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version,
      declaredSize: 10,
      createdAt: at(t),
      expiresAt: at(t + 15 * MIN),
    });
    const r = await store.completeUpload({
      userId: user.id,
      objectKey,
      version,
      size: 10,
      now: at(t),
    });
    if (!r) throw new Error('not completed');
    return r.backup;
  }

  const verify = (
    user: UserRow,
    version: BackupVersion,
    backupCreatedAt: Date,
    t: number,
    status: 'success' | 'failure' = 'success',
    error?: string,
  ) =>
    store.recordVerification({
      userId: user.id,
      version,
      backupCreatedAt,
      verifiedAt: at(t),
      status,
      ...(error === undefined ? {} : { error }),
    });

  it('records a verification of the backup a slot holds, and lists it', async () => {
    const u = await newUser();
    const b = await backup(u, 1, 0);
    expect(await store.listVerifications(u.id)).toEqual([]);
    expect(await verify(u, 1, b.createdAt, MIN)).toBe(true);
    expect(await store.listVerifications(u.id)).toEqual([
      {
        version: 1,
        backupCreatedAt: b.createdAt,
        verifiedAt: at(MIN),
        status: 'success',
        error: null,
      },
    ]);
  });

  it('the next verification of a slot replaces the previous one', async () => {
    const u = await newUser();
    const b = await backup(u, 2, 0);
    await verify(u, 2, b.createdAt, MIN);
    expect(await verify(u, 2, b.createdAt, 2 * MIN, 'failure', 'integrity_error')).toBe(true);
    expect(await store.listVerifications(u.id)).toEqual([
      {
        version: 2,
        backupCreatedAt: b.createdAt,
        verifiedAt: at(2 * MIN),
        status: 'failure',
        error: 'integrity_error',
      },
    ]);
  });

  it('records nothing for a backup the slot does not hold, or an empty slot', async () => {
    const u = await newUser();
    const b = await backup(u, 1, 0);
    expect(await verify(u, 1, at(1), MIN)).toBe(false);
    expect(await verify(u, 2, b.createdAt, MIN)).toBe(false);
    const other = await newUser();
    expect(await verify(other, 1, b.createdAt, MIN)).toBe(false);
    expect(await store.listVerifications(u.id)).toEqual([]);
    expect(await store.listVerifications(other.id)).toEqual([]);
  });

  it('a verification is void once its slot holds another backup', async () => {
    const u = await newUser();
    const first = await backup(u, 1, 0);
    const second = await backup(u, 2, MIN);
    await verify(u, 1, first.createdAt, 2 * MIN);
    await verify(u, 2, second.createdAt, 2 * MIN);
    const replaced = await backup(u, 1, 3 * MIN);
    expect((await store.listVerifications(u.id)).map((v) => v.version)).toEqual([2]);
    // A late report of the replaced backup records nothing.
    expect(await verify(u, 1, first.createdAt, 4 * MIN)).toBe(false);
    expect((await store.listVerifications(u.id)).map((v) => v.version)).toEqual([2]);
    expect(await verify(u, 1, replaced.createdAt, 4 * MIN)).toBe(true);
    expect((await store.listVerifications(u.id)).map((v) => v.version)).toEqual([1, 2]);
  });

  it('a verification is void once its slot is deleted, and stays void if refilled', async () => {
    const u = await newUser();
    const b = await backup(u, 1, 0);
    await verify(u, 1, b.createdAt, MIN);
    expect(await store.deleteBackup(u.id, 1)).not.toBeNull();
    expect(await store.listVerifications(u.id)).toEqual([]);
    await backup(u, 1, 2 * MIN);
    expect(await store.listVerifications(u.id)).toEqual([]);
  });

  it('checks its arguments', async () => {
    const u = await newUser();
    await expect(
      store.recordVerification({
        userId: u.id,
        version: 3 as BackupVersion,
        backupCreatedAt: at(0),
        verifiedAt: at(0),
        status: 'success',
      }),
    ).rejects.toThrow(RangeError);
    await expect(
      store.recordVerification({
        userId: u.id,
        version: 1,
        backupCreatedAt: at(0),
        verifiedAt: at(0),
        status: 'maybe' as 'success',
      }),
    ).rejects.toThrow(RangeError);
    await expect(store.listVerifications('')).rejects.toThrow(TypeError);
  });
});
