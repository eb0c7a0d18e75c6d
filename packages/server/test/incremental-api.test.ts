/**
 * The routes of incremental backups (docs/API.md "Incremental backups") through the
 * real server on both stacks: `upload_urls`, `complete_upload` with `objects` and
 * `base`, `download_urls`, the totals in `list`; objects shared by both slots stay
 * while either references them; a one-object client keeps working beside them; the
 * pending limits count objects and bytes.
 */
import type {
  BackupInfo,
  DownloadUrlResponse,
  DownloadUrlsResponse,
  UploadUrlsResponse,
} from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, getBytes, login, newKey, putBytes } from './helpers/client.ts';
import { incrementalUser } from './helpers/incremental.ts';
import { type TestServer, fullCombos, startTestServer } from './helpers/server.ts';

describe.each(fullCombos)('incremental backups on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    // 64 KiB backups (test default), 4 × 64 KiB pending bytes, 1,100 pending objects.
    srv = await startTestServer({ ...combo, config: { maxPendingObjects: 1100 } });
  });
  afterAll(() => srv?.close());

  /** Bytes stored under a key (null: none; 0: an empty placeholder). */
  const stored = async (key: string) => (await srv.blobs.head(key))?.size ?? null;

  it('a full backup, then deltas sharing objects: list, download_urls, release', async () => {
    const u = await incrementalUser(srv);
    const [a, b] = await u.packs(3000, 2000);
    const first = await u.backup([a!, b!]);
    expect(first.info).toMatchObject({
      backup_version: 1,
      backup_size: 40,
      total_size: 5040,
      object_count: 2,
    });
    const got = await u.restore(1);
    expect(got.objects.map((o) => [o.s3_key, o.size])).toEqual([
      [a!.s3_key, 3000],
      [b!.s3_key, 2000],
    ]);
    // download_url still serves the slot object alone.
    const one = await u.api<DownloadUrlResponse>('download_url', { backup_version: 1 });
    expect(one.body).toMatchObject({ backup_size: 40, backup_version: 1 });
    expect((await getBytes(one.body.download_url)).bytes.length).toBe(40);

    // A delta keeps a, adds c; the next replaces the first and drops b (no slot has it).
    const [c] = await u.packs(1000);
    const second = await u.backup([a!, c!], first.key);
    expect(second.info).toMatchObject({ backup_version: 2, total_size: 4040, object_count: 2 });
    const [d] = await u.packs(500);
    const third = await u.backup([c!, d!], second.key);
    expect(third.info.backup_version).toBe(1);
    const list = (await u.api<BackupInfo[]>('list')).body;
    expect(list).toEqual([third.info, second.info]);
    expect(await stored(b!.s3_key)).not.toBe(2000);
    expect(await stored(first.key)).not.toBe(40);
    expect(await stored(a!.s3_key)).toBe(3000);
    await u.restore(1);
    await u.restore(2);
    // Deleting slot 2 drops a (only it had a), keeps c (slot 1 has it).
    expect((await u.api('delete', { backup_version: 2 })).status).toBe(200);
    expect(await stored(a!.s3_key)).not.toBe(3000);
    expect(await stored(c!.s3_key)).toBe(1000);
    await u.restore(1);
  });

  it('a one-object client keeps working beside incremental backups', async () => {
    const u = await incrementalUser(srv);
    const [p] = await u.packs(700);
    const inc = await u.backup([p!]);
    // Today's flow: upload_url, PUT, complete_upload without objects.
    const plain = await u.manifest(900);
    srv.clock.advance(1000);
    const done = await u.api<BackupInfo>('complete_upload', {
      s3_key: plain.up.s3_key,
      backup_version: plain.up.backup_version,
      backup_size: 900,
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ backup_size: 900, total_size: 900, object_count: 0 });
    const mine = await u.restore(done.body.backup_version);
    expect(mine.objects).toEqual([]);
    await u.restore(inc.info.backup_version);
    // A one-object backup replacing the incremental one releases its objects.
    const again = await u.manifest(800);
    expect((await u.complete(again, [])).status).toBe(200);
    expect(await stored(p!.s3_key)).not.toBe(700);
    expect((await u.api<BackupInfo[]>('list')).body.map((b) => b.object_count)).toEqual([0, 0]);
  });

  it('upload_urls: one write-once URL per object, at most 1,024 per call', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    const r = await api<UploadUrlsResponse>('upload_urls', {
      objects: Array.from({ length: 1024 }, () => ({ size: 16 })),
    });
    expect(r.status, JSON.stringify(r.body).slice(0, 200)).toBe(200);
    expect(new Set(r.body.objects.map((o) => o.s3_key)).size).toBe(1024);
    for (const o of r.body.objects) expect(o.s3_key).toMatch(/^b\/[0-9a-f]{32}$/);
    const [t] = r.body.objects;
    expect((await putBytes(t!.upload_url, new Uint8Array(17), t!.upload_headers)).status).not.toBe(
      200,
    );
    expect((await putBytes(t!.upload_url, new Uint8Array(16), t!.upload_headers)).status).toBe(200);
    const twice = await putBytes(t!.upload_url, new Uint8Array(16), t!.upload_headers);
    expect([409, 412]).toContain(twice.status);
    const tooMany = await api('upload_urls', {
      objects: Array.from({ length: 1025 }, () => ({ size: 1 })),
    });
    expect(tooMany.status).toBe(400);
    for (const bad of [{ objects: [] }, { objects: [{ size: 0 }] }, { objects: [{ size: 1.5 }] }])
      expect((await api('upload_urls', bad)).body).toMatchObject({ code: 'bad_request' });
    const max = srv.config.maxBackupSize;
    expect((await api('upload_urls', { objects: [{ size: max + 1 }] })).body).toMatchObject({
      code: 'backup_too_large',
    });
    expect(
      (await api('upload_urls', { objects: [{ size: max }, { size: 1 }] })).body,
    ).toMatchObject({ code: 'backup_too_large' });
  });

  it('pending objects are bounded by count and by bytes; cancel_upload frees one', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    const max = srv.config.maxBackupSize;
    // Bytes: MAX_PENDING_UPLOADS × MAX_BACKUP_SIZE in all.
    const big = [];
    for (let i = 0; i < srv.config.maxPendingUploads; i++) {
      const r = await api<UploadUrlsResponse>('upload_urls', { objects: [{ size: max }] });
      expect(r.status).toBe(200);
      big.push(r.body.objects[0]!);
    }
    const over = await api('upload_urls', { objects: [{ size: 1 }] });
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'quota_exceeded' });
    // … and a one-object upload too: pending bytes are shared.
    expect((await api('upload_url', { backup_size: 1 })).body).toMatchObject({
      code: 'quota_exceeded',
    });
    expect((await api('cancel_upload', { s3_key: big[0]!.s3_key })).status).toBe(200);
    expect((await api('upload_urls', { objects: [{ size: 1 }] })).status).toBe(200);

    // Count: MAX_PENDING_OBJECTS.
    const other = backupApi(srv.url, await login(srv.url, newKey()));
    const n = srv.config.maxPendingObjects;
    expect(
      (await other('upload_urls', { objects: Array.from({ length: 1000 }, () => ({ size: 1 })) }))
        .status,
    ).toBe(200);
    const rest = Array.from({ length: n - 1000 + 1 }, () => ({ size: 1 }));
    expect((await other('upload_urls', { objects: rest })).body).toMatchObject({
      code: 'quota_exceeded',
    });
    expect((await other('upload_urls', { objects: rest.slice(1) })).status).toBe(200);
    // One-object uploads are counted apart (MAX_PENDING_UPLOADS).
    expect((await other('upload_url', { backup_size: 10 })).status).toBe(200);
  });

  it('complete_upload takes thousands of references in one body', async () => {
    const u = await incrementalUser(srv);
    const m = await u.manifest();
    const objects = Array.from({ length: 4096 }, (_, i) => ({
      s3_key: `b/${i.toString(16).padStart(32, '0')}`,
      size: 1,
    }));
    const r = await u.complete(m, objects);
    // Parsed and checked (none of these is the user's), not refused for its size.
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'upload_not_found' });
    expect((await u.complete(m, [...objects, objects[0]!])).status).toBe(400);
  });

  it('download_urls: the latest by default, 404 for an empty slot', async () => {
    const u = await incrementalUser(srv);
    expect((await u.api('download_urls')).body).toMatchObject({ code: 'backup_not_found' });
    const [p] = await u.packs(10);
    await u.backup([]);
    const newer = await u.backup([p!]);
    const r = await u.api<DownloadUrlsResponse>('download_urls');
    expect(r.body).toMatchObject({
      backup_version: newer.info.backup_version,
      created_at: newer.info.created_at,
      s3_key: newer.key,
      objects: [{ s3_key: p!.s3_key, size: 10 }],
    });
    expect((await u.api('download_urls', { backup_version: 3 })).status).toBe(400);
  });

  it('the OpenAPI document describes the new routes', async () => {
    const doc = (await (await fetch(`${srv.url}/v0/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of ['/v0/backup/upload_urls', '/v0/backup/download_urls'])
      expect(Object.keys(doc.paths)).toContain(path);
    expect(JSON.stringify(doc.paths['/v0/backup/complete_upload'])).toContain('base_changed');
  });
});
