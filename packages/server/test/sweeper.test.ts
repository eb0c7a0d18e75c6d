import { randomBytes } from 'node:crypto';
import type { BackupInfo, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../src/sweeper.ts';
import { backupApi, getK1, login, putBytes } from './helpers/client.ts';
import { type TestServer, fullCombos, putRawObject, startTestServer } from './helpers/server.ts';

const HOUR = 3600_000;

describe.each(fullCombos)('sweeper on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  const run = () =>
    sweep({
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: srv.config.orphanMinAgeSec,
    });
  const rawKey = () => `b/${randomBytes(16).toString('hex')}`;

  async function upload(api: ReturnType<typeof backupApi>, size: number, complete: boolean) {
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: size })).body;
    expect((await putBytes(up.upload_url, new Uint8Array(size), up.upload_headers)).status).toBe(
      200,
    );
    if (complete) {
      const r = await api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: size,
      });
      expect(r.status).toBe(200);
    }
    return up;
  }

  it('removes abandoned uploads (row and object), never a referenced object', async () => {
    await run(); // start from a clean slate
    const api = backupApi(srv.url, await login(srv.url));
    const kept = await upload(api, 100, true);
    const abandoned = await upload(api, 50, false);
    const neverPut = (await api<UploadUrlResponse>('upload_url', { backup_size: 10 })).body;

    const early = await run();
    expect(early.expiredUploads).toBe(0);
    expect(await srv.blobs.head(abandoned.s3_key)).not.toBeNull();

    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000 + 1000);
    const r = await run();
    expect(r.expiredUploads).toBe(2);
    expect(r.errors).toBe(0);
    expect(await srv.blobs.head(abandoned.s3_key)).toBeNull();
    expect(await srv.blobs.head(neverPut.s3_key)).toBeNull();
    expect((await srv.blobs.head(kept.s3_key))?.size).toBe(100);
    const late = await api('complete_upload', {
      s3_key: abandoned.s3_key,
      backup_version: abandoned.backup_version,
      backup_size: 50,
    });
    expect(late.status).toBe(404);
    expect((await api<BackupInfo[]>('list')).body).toHaveLength(1);
  });

  it('an expired upload completed before the sweep keeps its object', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const up = await upload(api, 70, false);
    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000 + 1000);
    // The PUT happened in time; completing after the URL expired still works until swept.
    const r = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: 70,
    });
    expect(r.status).toBe(200);
    await run();
    expect((await srv.blobs.head(up.s3_key))?.size).toBe(70);
  });

  it('deletes orphans older than the minimum age, never referenced objects', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const completed = await upload(api, 30, true);
    const orphan = rawKey();
    await putRawObject(srv, orphan, new Uint8Array(9));
    const young = await run();
    expect(young.orphans).toBe(0);
    expect(await srv.blobs.head(orphan)).not.toBeNull();

    srv.clock.advance(2 * HOUR);
    // A live pending upload made now: referenced, so never an orphan.
    const pending = await upload(api, 40, false);
    const r = await run();
    expect(r.orphans).toBe(1);
    expect(await srv.blobs.head(orphan)).toBeNull();
    expect((await srv.blobs.head(completed.s3_key))?.size).toBe(30);
    expect((await srv.blobs.head(pending.s3_key))?.size).toBe(40);
    // Objects outside the server's prefix are not its business.
    await putRawObject(srv, 'other/file', new Uint8Array(1));
    srv.clock.advance(2 * HOUR);
    await run();
    expect(await srv.blobs.head('other/file')).not.toBeNull();
  });

  it('retries queued deletions, dropping those that are referenced', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const completed = await upload(api, 12, true);
    const queued = rawKey();
    await putRawObject(srv, queued, new Uint8Array(5));
    await srv.metadata.enqueueObjectDeletion(queued, srv.clock.now());
    await srv.metadata.enqueueObjectDeletion(completed.s3_key, srv.clock.now());
    const r = await run();
    expect(r.queuedDeletions).toBe(1);
    expect(await srv.blobs.head(queued)).toBeNull();
    expect((await srv.blobs.head(completed.s3_key))?.size).toBe(12);
    expect(await srv.metadata.listObjectDeletions(100)).toEqual([]);
  });

  it('prunes expired challenges and sessions', async () => {
    await getK1(srv.url);
    await login(srv.url);
    srv.clock.advance(srv.config.tokenTtlSec * 1000 + 2 * 86400_000);
    const r = await run();
    expect(r.challenges).toBeGreaterThanOrEqual(1);
    expect(r.sessions).toBeGreaterThanOrEqual(1);
    expect(await run()).toMatchObject({ challenges: 0, sessions: 0 });
  });
});

describe('the sweeper timer', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { sweepIntervalSec: 1 },
    });
  });
  afterAll(() => srv?.close());

  it('runs the sweep periodically in the server', async () => {
    const key = `b/${randomBytes(16).toString('hex')}`;
    await putRawObject(srv, key, new Uint8Array(3));
    srv.clock.advance(2 * HOUR);
    for (let i = 0; i < 100 && (await srv.blobs.head(key)) !== null; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await srv.blobs.head(key)).toBeNull();
  });
});
