/**
 * What one user can occupy through signed URLs is bounded (docs/OPERATIONS.md "Storage
 * bounds"): a URL whose object was rotated out, deleted or refused stores nothing more;
 * one PUT per object key at a time (fs); an abandoned upload can be cancelled; the
 * operator's total cap answers 507 `storage_full`. The real server on both stacks.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackupInfo, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../src/sweeper.ts';
import { backupApi, login, newKey, putBytes } from './helpers/client.ts';
import { rawExchange } from './helpers/raw-http.ts';
import { type TestServer, fullCombos, putRawObject, startTestServer } from './helpers/server.ts';

type Api = ReturnType<typeof backupApi>;

describe.each(fullCombos)('upload bounds on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ ...combo, config: { maxTotalStorage: 0 } });
  });
  afterAll(() => srv?.close());

  const user = async () => backupApi(srv.url, await login(srv.url, newKey()));

  async function uploadUrl(api: Api, size: number, version?: 1 | 2) {
    const r = await api<UploadUrlResponse>('upload_url', {
      backup_size: size,
      ...(version ? { backup_version: version } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  }

  async function backup(api: Api, size: number) {
    const up = await uploadUrl(api, size);
    const bytes = new Uint8Array(randomBytes(size));
    expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(200);
    srv.clock.advance(1000);
    const done = await api<BackupInfo>('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: size,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    return { up, bytes };
  }

  /** Bytes stored under a key (0 for none or an empty placeholder). */
  const stored = async (key: string) => (await srv.blobs.head(key))?.size ?? 0;

  /** A second PUT to a URL that already served its purpose: refused, nothing stored. */
  async function expectRefused(up: UploadUrlResponse, size: number) {
    const again = await putBytes(up.upload_url, new Uint8Array(size), up.upload_headers);
    expect([409, 412]).toContain(again.status);
    expect(await stored(up.s3_key)).toBe(0);
  }

  it('a URL whose backup was rotated out stores nothing more', async () => {
    const api = await user();
    const a = await backup(api, 300);
    await backup(api, 310);
    await backup(api, 320); // replaces a
    expect(await stored(a.up.s3_key)).toBe(0);
    await expectRefused(a.up, 300);
  });

  it('a URL whose backup was deleted stores nothing more', async () => {
    const api = await user();
    const a = await backup(api, 200);
    const list = (await api<BackupInfo[]>('list')).body;
    expect((await api('delete', { backup_version: list[0]!.backup_version })).status).toBe(200);
    expect(await stored(a.up.s3_key)).toBe(0);
    await expectRefused(a.up, 200);
  });

  it('a URL whose upload was refused at completion stores nothing more', async () => {
    const api = await user();
    const up = await uploadUrl(api, 150);
    await putRawObject(srv, up.s3_key, new Uint8Array(120));
    const r = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 1,
      backup_size: 150,
    });
    expect(r.body).toMatchObject({ code: 'size_mismatch' });
    await expectRefused(up, 150);
  });

  it('cancel_upload frees the allowance at once; the URL stores nothing more', async () => {
    const api = await user();
    const ups = [];
    for (let i = 0; i < srv.config.maxPendingUploads; i++) ups.push(await uploadUrl(api, 90));
    expect((await api('upload_url', { backup_size: 90 })).body).toMatchObject({
      code: 'quota_exceeded',
    });
    const [first, second] = ups as [UploadUrlResponse, UploadUrlResponse];
    // One never uploaded, one uploaded but not completed.
    expect(
      (await putBytes(second.upload_url, new Uint8Array(90), second.upload_headers)).status,
    ).toBe(200);
    for (const up of [first, second]) {
      const c = await api('cancel_upload', { s3_key: up.s3_key });
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body).toEqual({ cancelled: true });
    }
    expect((await api('upload_url', { backup_size: 90 })).status).toBe(200);
    expect((await api('upload_url', { backup_size: 90 })).status).toBe(200);
    for (const up of [first, second]) {
      await expectRefused(up, 90);
      const done = await api('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: 90,
      });
      expect(done.body).toMatchObject({ code: 'upload_not_found' });
      // A repeat, or an unknown key, is 404 upload_not_found.
      expect((await api('cancel_upload', { s3_key: up.s3_key })).body).toMatchObject({
        code: 'upload_not_found',
      });
    }
  });

  it("cancel_upload touches neither a completed backup nor another user's upload", async () => {
    const alice = await user();
    const bob = await user();
    const done = await backup(alice, 80);
    const c = await alice('cancel_upload', { s3_key: done.up.s3_key });
    expect(c.status).toBe(404);
    expect(c.body).toMatchObject({ code: 'upload_not_found' });
    expect(await stored(done.up.s3_key)).toBe(80);
    const pending = await uploadUrl(alice, 70);
    expect((await bob('cancel_upload', { s3_key: pending.s3_key })).status).toBe(404);
    expect(
      (await putBytes(pending.upload_url, new Uint8Array(70), pending.upload_headers)).status,
    ).toBe(200);
    const ok = await alice('complete_upload', {
      s3_key: pending.s3_key,
      backup_version: pending.backup_version,
      backup_size: 70,
    });
    expect(ok.status).toBe(200);
    expect((await alice('cancel_upload', { s3_key: 'b/nope' })).body).toMatchObject({
      code: 'upload_not_found',
    });
  });
});

describe.each(fullCombos)('MAX_TOTAL_STORAGE on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ ...combo, config: { maxTotalStorage: 3000 } });
  });
  afterAll(() => srv?.close());

  it('refuses an upload that would pass the cap (507 storage_full, Retry-After)', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    const up = async (size: number) => api<UploadUrlResponse>('upload_url', { backup_size: size });
    const a = await up(1000);
    expect(a.status).toBe(200);
    await putBytes(a.body.upload_url, new Uint8Array(1000), a.body.upload_headers);
    expect(
      (
        await api('complete_upload', {
          s3_key: a.body.s3_key,
          backup_version: 1,
          backup_size: 1000,
        })
      ).status,
    ).toBe(200);
    // 1000 stored + 1500 pending + 600 > 3000.
    expect((await up(1500)).status).toBe(200);
    const full = await up(600);
    expect(full.status).toBe(507);
    expect(full.body).toMatchObject({ code: 'storage_full' });
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user is refused too: the cap is the server's.
    const other = backupApi(srv.url, await login(srv.url, newKey()));
    expect((await other('upload_url', { backup_size: 600 })).status).toBe(507);
    expect((await up(400)).status).toBe(200);
  });
});

describe('one PUT per object key at a time (fs)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  });
  afterAll(() => srv?.close());

  const tempFiles = async (key: string) => {
    const dir = dirname(join(srv.blob.fs!.dir, ...key.split('/')));
    return (await readdir(dir).catch(() => [])).filter((n) => n.startsWith('.tmp-'));
  };

  /** The server removes an aborted PUT's temp file as soon as it notices: wait up to 1 s. */
  const noTempFiles = async (key: string) => {
    for (let i = 0; i < 50 && (await tempFiles(key)).length > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await tempFiles(key)).toEqual([]);
  };

  it('a second PUT to a URL with one in flight is refused before its body', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 4000 })).body;
    const u = new URL(up.upload_url);
    const head = `PUT ${u.pathname}${u.search} HTTP/1.1\r\nhost: x\r\ncontent-length: 4000\r\n\r\n`;
    // Eight at once, each sending half its body and stalling.
    const puts = Array.from({ length: 8 }, () =>
      rawExchange(srv.url, { send: head + 'a'.repeat(2000), waitMs: 1500 }),
    );
    await new Promise((r) => setTimeout(r, 700));
    expect((await tempFiles(up.s3_key)).length).toBeLessThanOrEqual(1);
    const results = await Promise.all(puts);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    // The cancel of an upload aborts its PUT in flight: no temp file is left. (First the
    // server notices that the stalled PUT above went away.)
    await noTempFiles(up.s3_key);
    const held = rawExchange(srv.url, { send: head + 'a'.repeat(2000), waitMs: 3000 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await tempFiles(up.s3_key)).length).toBe(1);
    expect((await api('cancel_upload', { s3_key: up.s3_key })).status).toBe(200);
    expect((await held).closed).toBe(true);
    await noTempFiles(up.s3_key);
  });

  it('the sweep of an expired upload stops its PUT in flight and keeps the key empty', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 4000 })).body;
    const u = new URL(up.upload_url);
    const held = rawExchange(srv.url, {
      send: `PUT ${u.pathname}${u.search} HTTP/1.1\r\nhost: x\r\ncontent-length: 4000\r\n\r\n${'a'.repeat(2000)}`,
      waitMs: 3000,
    });
    for (let i = 0; i < 50 && (await tempFiles(up.s3_key)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000 + 1000);
    const deps = {
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: srv.config.orphanMinAgeSec,
      uploadUrlTtlSec: srv.config.uploadUrlTtlSec,
      inFlightGraceSec: srv.config.http.requestTimeoutSec,
    };
    expect((await sweep(deps)).expiredUploads).toBe(1);
    expect((await held).closed).toBe(true);
    await noTempFiles(up.s3_key);
    expect((await srv.blobs.head(up.s3_key))?.size).toBe(0);
    // The empty key is deleted once no PUT can be running any more.
    srv.clock.advance(srv.config.http.requestTimeoutSec * 1000);
    expect((await sweep(deps)).queuedDeletions).toBeGreaterThanOrEqual(1);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();
  });
});
