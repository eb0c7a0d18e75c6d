/**
 * Faults around incremental backups (docs/API.md "Incremental backups"), against the
 * real server on both stacks: SQLite + the fs store (on a tmpfs that the test remounts
 * read-only to make the store's writes fail) and PostgreSQL + S3 (behind the SigV4
 * front, which refuses the server's writes on demand). Objects uploaded but never
 * completed are swept; a completion whose cleanup fails leaves both slots restorable
 * and the sweeper finishes the cleanup; refused completions change nothing; two devices
 * racing on one base never leave a slot without an object it references.
 */
import { execFileSync } from 'node:child_process';
import type { BackupInfo, ObjectRef, UploadUrlsResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../src/sweeper.ts';
import { type IncrementalUser, incrementalUser } from './helpers/incremental.ts';
import { type TestServer, fullCombos, putRawObject, startTestServer } from './helpers/server.ts';

describe.each(fullCombos)('incremental faults on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  let mounted: string | null = null;

  beforeAll(async () => {
    srv = await startTestServer(combo);
    if (srv.blob.fs) {
      // The store's own directory becomes a filesystem the test can make read-only.
      mounted = srv.blob.fs.dir;
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', mounted]);
    }
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', ['-l', mounted]);
    await srv?.close();
  });

  /** Makes every write of the blob store fail (reads go on), or work again. */
  function storeWrites(ok: boolean): void {
    if (mounted) execFileSync('mount', ['-o', `remount,${ok ? 'rw' : 'ro'}`, mounted]);
    else srv.blob.s3!.faults.refuseServerWrites = !ok;
  }

  const sweepNow = () =>
    sweep({
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: srv.config.orphanMinAgeSec,
      uploadUrlTtlSec: srv.config.uploadUrlTtlSec,
      inFlightGraceSec: srv.config.http.requestTimeoutSec,
    });
  /** Past every upload URL issued so far, and a PUT begun just before it expired. */
  const pastUrls = () =>
    srv.clock.advance((srv.config.uploadUrlTtlSec + srv.config.http.requestTimeoutSec + 1) * 1000);
  const stored = async (key: string) => (await srv.blobs.head(key))?.size ?? null;
  const userId = async (u: IncrementalUser) =>
    (await srv.metadata.upsertUser(u.key.key, srv.clock.now())).id;
  const list = async (u: IncrementalUser) => (await u.api<BackupInfo[]>('list')).body;

  it('objects uploaded but never completed are swept and stop counting', async () => {
    const u = await incrementalUser(srv);
    const packs = await u.packs(1000, 2000);
    const manifest = await u.manifest(50);
    const id = await userId(u);
    expect(await srv.metadata.pendingUsage(id, srv.clock.now())).toEqual({
      uploads: 1,
      objects: 2,
      bytes: 3050,
    });
    pastUrls();
    // Expired: no longer counted, even before the sweep.
    expect(await srv.metadata.pendingUsage(id, srv.clock.now())).toEqual({
      uploads: 0,
      objects: 0,
      bytes: 0,
    });
    expect((await sweepNow()).expiredUploads).toBeGreaterThanOrEqual(3);
    for (const key of [...packs.map((p) => p.s3_key), manifest.up.s3_key])
      expect(await stored(key)).toBeNull();
    // Nor can a backup reference them any more.
    const late = await u.complete(await u.manifest(), packs);
    expect(late.status).toBe(404);
    expect(late.body).toMatchObject({ code: 'upload_not_found' });
    expect(await list(u)).toEqual([]);
  });

  it('a committed completion whose cleanup fails: both slots restore, the sweeper cleans up', async () => {
    const u = await incrementalUser(srv);
    const [a, b] = await u.packs(300, 200);
    const first = await u.backup([a!, b!]);
    const [c] = await u.packs(100);
    const second = await u.backup([a!, c!], first.key);
    // The third replaces the first: its manifest and b are no longer referenced.
    const [d] = await u.packs(50);
    const third = await u.manifest();
    storeWrites(false);
    try {
      const done = await u.complete(third, [c!, d!], second.key);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.backup_version).toBe(first.info.backup_version);
      // Nothing could be removed; the deletions wait in the queue.
      expect(await stored(b!.s3_key)).toBe(200);
      expect(await stored(first.key)).toBe(40);
      const queued = await srv.metadata.listObjectDeletions(1000);
      expect(queued).toEqual(expect.arrayContaining([b!.s3_key, first.key]));
      for (const k of [a!.s3_key, c!.s3_key, d!.s3_key, second.key, third.up.s3_key])
        expect(queued).not.toContain(k);
      // Both slots restore: every object either references is there.
      await u.restore(1);
      await u.restore(2);
    } finally {
      storeWrites(true);
    }
    pastUrls();
    expect((await sweepNow()).queuedDeletions).toBeGreaterThanOrEqual(2);
    expect(await stored(b!.s3_key)).toBeNull();
    expect(await stored(first.key)).toBeNull();
    await u.restore(1);
    await u.restore(2);
  });

  it('refused completions change nothing', async () => {
    const u = await incrementalUser(srv);
    const other = await incrementalUser(srv);
    const [a] = await u.packs(100);
    const base = await u.backup([a!]);
    const m = await u.manifest();
    const refused = async (objects: ObjectRef[], code: string, status: number, b = base.key) => {
      const before = await list(u);
      const r = await u.complete(m, objects, b);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body).toMatchObject({ code });
      expect(await list(u)).toEqual(before);
    };
    const [theirs] = await other.packs(100);
    await refused([theirs!], 'upload_not_found', 404);
    const otherDone = await other.backup([theirs!]);
    await refused([theirs!], 'upload_not_found', 404);
    // Never PUT.
    const issued = await u.api<UploadUrlsResponse>('upload_urls', { objects: [{ size: 60 }] });
    const never = { s3_key: issued.body.objects[0]!.s3_key, size: 60 };
    await refused([never], 'upload_incomplete', 409);
    // Never issued at all.
    await refused(
      [{ s3_key: 'b/00000000000000000000000000000000', size: 1 }],
      'upload_not_found',
      404,
    );
    // Wrong sizes: of a referenced object, against the declared size, of the stored bytes.
    await refused([{ ...a!, size: 101 }], 'size_mismatch', 409);
    const [p] = await u.packs(70);
    await refused([{ ...p!, size: 71 }], 'bad_request', 400);
    await putRawObject(srv, never.s3_key, new Uint8Array(59));
    await refused([never], 'size_mismatch', 409);
    // A base no slot holds any more.
    await u.backup([]);
    const last = await u.backup([]); // replaces the base
    await refused([a!], 'base_changed', 409, base.key);
    // The manifest's upload is intact: it completes with what it should reference.
    const ok = await u.complete(m, [p!], last.key);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await u.restore(ok.body.backup_version);
    // The other user's backup is untouched.
    expect(await list(other)).toEqual([otherDone.info]);
    await other.restore(otherDone.info.backup_version);
  });

  it.each([
    ['the older slot', false],
    ['the newer slot', true],
  ])('two devices completing on one base (%s): every referenced object stays', async (_, newer) => {
    const phone = await incrementalUser(srv);
    const tablet = await incrementalUser(srv, { key: phone.key, bytes: phone.bytes });
    const shared = await phone.packs(500, 400);
    const older = await phone.backup(newer ? [] : shared);
    const newest = await phone.backup(newer ? shared : []);
    const base = newer ? newest.key : older.key;
    // Each device stages its delta, then both complete at once.
    const staged = await Promise.all(
      [phone, tablet].map(async (dev) => ({
        dev,
        objects: [...shared, ...(await dev.packs(30))],
        manifest: await dev.manifest(),
      })),
    );
    const results = await Promise.all(
      staged.map((s) => s.dev.complete(s.manifest, s.objects, base)),
    );
    for (const r of results) expect([200, 409], JSON.stringify(r.body)).toContain(r.status);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((r) => r.status === 409))
      expect(r.body).toMatchObject({ code: 'base_changed' });
    // Whatever won: both slots restore, every object they reference is there.
    const slots = await list(phone);
    expect(slots).toHaveLength(2);
    for (const s of slots) await phone.restore(s.backup_version);
    for (const o of shared) expect(await stored(o.s3_key)).toBe(o.size);
  });

  it('deleting a slot keeps the objects the other references', async () => {
    const u = await incrementalUser(srv);
    const [a, b, c] = await u.packs(100, 110, 120);
    const first = await u.backup([a!, b!]);
    const second = await u.backup([b!, c!], first.key);
    const del = await u.api('delete', { backup_version: first.info.backup_version });
    expect(del.status).toBe(200);
    expect(await stored(a!.s3_key)).not.toBe(100);
    expect(await stored(b!.s3_key)).toBe(110);
    expect(await list(u)).toEqual([second.info]);
    await u.restore(second.info.backup_version);
    // And after the sweep too.
    pastUrls();
    await sweepNow();
    expect(await stored(a!.s3_key)).toBeNull();
    await u.restore(second.info.backup_version);
  });
});
