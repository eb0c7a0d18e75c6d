import { randomBytes } from 'node:crypto';
import type {
  BackupInfo,
  DownloadUrlResponse,
  SettingsResponse,
  UploadUrlResponse,
} from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, getBytes, login, newKey, putBytes } from './helpers/client.ts';
import { type TestServer, fullCombos, putRawObject, startTestServer } from './helpers/server.ts';

type Api = ReturnType<typeof backupApi>;

describe.each(fullCombos)('backup endpoints on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  const user = async () => backupApi(srv.url, await login(srv.url, newKey()));
  const tick = () => srv.clock.advance(1000);

  async function uploadUrl(api: Api, size: number, version?: 1 | 2) {
    const r = await api<UploadUrlResponse>('upload_url', {
      backup_size: size,
      ...(version ? { backup_version: version } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  }

  /** upload_url → PUT → complete_upload; returns the bytes, the upload and the backup. */
  async function backup(api: Api, size = 1000, version?: 1 | 2) {
    const bytes = new Uint8Array(randomBytes(size));
    const up = await uploadUrl(api, size, version);
    const put = await putBytes(up.upload_url, bytes, up.upload_headers);
    expect(put.status, put.text).toBe(200);
    const done = await api<BackupInfo>('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: size,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    tick();
    return { bytes, up, info: done.body };
  }

  async function download(api: Api, body?: unknown) {
    const r = await api<DownloadUrlResponse>('download_url', body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { ...r.body, got: await getBytes(r.body.download_url) };
  }

  it('upload, complete, list, download: the whole flow', async () => {
    const api = await user();
    const up = await uploadUrl(api, 1234);
    expect(up.s3_key).toMatch(/^b\/[0-9a-f]{32}$/);
    expect(up.backup_version).toBe(1);
    expect(Date.parse(up.expires_at) - srv.clock.now().getTime()).toBeLessThanOrEqual(900_000);
    expect(Date.parse(up.expires_at) - srv.clock.now().getTime()).toBeGreaterThan(898_000);
    expect(typeof up.upload_headers).toBe('object');
    const bytes = new Uint8Array(randomBytes(1234));
    expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(200);
    const done = await api<BackupInfo>('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 1,
      backup_size: 1234,
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      backup_version: 1,
      backup_size: 1234,
      created_at: srv.clock.now().toISOString(),
      total_size: 1234,
      object_count: 0,
      verification: null,
    });
    const list = await api<BackupInfo[]>('list');
    expect(list.status).toBe(200);
    expect(list.body).toEqual([done.body]);
    const d = await download(api);
    expect(d).toMatchObject({
      backup_version: 1,
      backup_size: 1234,
      created_at: done.body.created_at,
    });
    expect(Date.parse(d.expires_at) - srv.clock.now().getTime()).toBeLessThanOrEqual(300_000);
    expect(d.got.status).toBe(200);
    expect(Buffer.from(d.got.bytes).equals(Buffer.from(bytes))).toBe(true);
    const settings = await api<SettingsResponse>('settings', undefined, 'GET');
    expect(settings.body).toEqual({
      backup_enabled: false,
      last_backup_at: done.body.created_at,
      max_backup_size: srv.config.maxBackupSize,
      backups_allowed: true,
      backups_not_allowed_reason: null,
      last_verification: null,
    });
    // Idempotent completion: a repeat answers the same backup and changes nothing.
    const again = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 1,
      backup_size: 1234,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(done.body);
    expect((await api('list')).body).toEqual([done.body]);
  });

  it('names a new opaque object for every upload', async () => {
    const key = newKey();
    const api = backupApi(srv.url, await login(srv.url, key));
    const a = await uploadUrl(api, 10);
    const b = await uploadUrl(api, 10);
    expect(a.s3_key).not.toBe(b.s3_key);
    for (const k of [a.s3_key, b.s3_key]) expect(k).not.toContain(key.key.slice(2, 20));
  });

  it('refuses a declared size over the limit (413) and non-positive or non-integer sizes (400)', async () => {
    const api = await user();
    const over = await api('upload_url', { backup_size: srv.config.maxBackupSize + 1 });
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ code: 'backup_too_large' });
    expect((await api('upload_url', { backup_size: srv.config.maxBackupSize })).status).toBe(200);
    for (const size of [0, -1, 1.5, '100', null]) {
      const r = await api('upload_url', { backup_size: size });
      expect(r.status, String(size)).toBe(400);
      expect(r.body).toMatchObject({ code: 'bad_request' });
    }
    const slot = await api('upload_url', { backup_size: 10, backup_version: 3 });
    expect(slot.status).toBe(400);
    expect((slot.body as { message: string }).message).toContain('backup_version');
  });

  it('the signed URL refuses more bytes than declared; completion then finds no upload', async () => {
    const api = await user();
    const up = await uploadUrl(api, 100);
    const put = await putBytes(up.upload_url, new Uint8Array(101), up.upload_headers);
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect(put.status).toBeLessThan(500);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();
    const done = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: 100,
    });
    expect(done.status).toBe(409);
    expect(done.body).toMatchObject({ code: 'upload_incomplete' });
    expect((await api('list')).body).toEqual([]);
  });

  it('completion without an upload is 409 upload_incomplete and can be retried', async () => {
    const api = await user();
    const up = await uploadUrl(api, 50);
    const body = { s3_key: up.s3_key, backup_version: up.backup_version, backup_size: 50 };
    const early = await api('complete_upload', body);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'upload_incomplete' });
    expect((await putBytes(up.upload_url, new Uint8Array(50), up.upload_headers)).status).toBe(200);
    expect((await api('complete_upload', body)).status).toBe(200);
  });

  it('a wrong-size object is refused (409 size_mismatch), deleted, and the good backup kept', async () => {
    const api = await user();
    const good = await backup(api, 300, 1);
    const up = await uploadUrl(api, 200, 1);
    await putRawObject(srv, up.s3_key, new Uint8Array(150));
    expect((await srv.blobs.head(up.s3_key))?.size).toBe(150);
    const body = { s3_key: up.s3_key, backup_version: 1, backup_size: 200 };
    const r = await api('complete_upload', body);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'size_mismatch' });
    // Emptied (a placeholder keeps the key while its upload URL lives).
    expect((await srv.blobs.head(up.s3_key))?.size ?? 0).toBe(0);
    // The pending upload is gone too; the slot still holds the good backup.
    expect((await api('complete_upload', body)).status).toBe(404);
    expect((await api('list')).body).toEqual([good.info]);
    const d = await download(api, { backup_version: 1 });
    expect(Buffer.from(d.got.bytes).equals(Buffer.from(good.bytes))).toBe(true);
  });

  it('refuses a completion whose version or size differs from the upload (400)', async () => {
    const api = await user();
    const up = await uploadUrl(api, 20, 2);
    await putBytes(up.upload_url, new Uint8Array(20), up.upload_headers);
    const v = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 1,
      backup_size: 20,
    });
    expect(v.status).toBe(400);
    const s = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 2,
      backup_size: 21,
    });
    expect(s.status).toBe(400);
    expect((await api('list')).body).toEqual([]);
    const ok = await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 2,
      backup_size: 20,
    });
    expect(ok.status).toBe(200);
  });

  it("one user cannot complete, download or delete another's backup", async () => {
    const alice = await user();
    const bob = await user();
    const bobs = await backup(bob, 400);
    const pendingBob = await uploadUrl(bob, 64, 2);
    await putBytes(pendingBob.upload_url, new Uint8Array(64), pendingBob.upload_headers);

    // Completing with Bob's keys (his completed and his pending one).
    for (const [up, size] of [
      [bobs.up, 400],
      [pendingBob, 64],
    ] as const) {
      for (const version of [1, 2]) {
        const r = await alice('complete_upload', {
          s3_key: up.s3_key,
          backup_version: version,
          backup_size: size,
        });
        expect(r.status).toBe(404);
        expect(r.body).toMatchObject({ code: 'upload_not_found' });
      }
    }
    expect((await alice('list')).body).toEqual([]);
    for (const body of [{}, { backup_version: 1 }, { backup_version: 2 }]) {
      const r = await alice('download_url', body);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ code: 'backup_not_found' });
    }
    const del = await alice('delete', { backup_version: 1 });
    expect(del.status).toBe(404);
    expect(del.body).toMatchObject({ code: 'backup_not_found' });

    // Bob lost nothing and can still complete his pending upload.
    const d = await download(bob);
    expect(Buffer.from(d.got.bytes).equals(Buffer.from(bobs.bytes))).toBe(true);
    const done = await bob('complete_upload', {
      s3_key: pendingBob.s3_key,
      backup_version: 2,
      backup_size: 64,
    });
    expect(done.status).toBe(200);
    expect((await bob<BackupInfo[]>('list')).body).toHaveLength(2);
  });

  it('a third backup replaces the older slot only once verified, then deletes its object', async () => {
    const api = await user();
    const first = await backup(api, 100);
    const second = await backup(api, 200);
    expect([first.info.backup_version, second.info.backup_version]).toEqual([1, 2]);
    const third = await uploadUrl(api, 300);
    expect(third.backup_version).toBe(1); // the older slot
    // Uploaded but not yet verified: both old backups are intact.
    await putBytes(third.upload_url, new Uint8Array(randomBytes(300)), third.upload_headers);
    expect((await api<BackupInfo[]>('list')).body).toEqual([second.info, first.info]);
    const old = await download(api, { backup_version: 1 });
    expect(Buffer.from(old.got.bytes).equals(Buffer.from(first.bytes))).toBe(true);

    const done = await api<BackupInfo>('complete_upload', {
      s3_key: third.s3_key,
      backup_version: 1,
      backup_size: 300,
    });
    expect(done.status).toBe(200);
    const list = (await api<BackupInfo[]>('list')).body;
    expect(list).toEqual([done.body, second.info]); // newest first
    // Emptied (a placeholder keeps the key while its upload URL lives).
    expect((await srv.blobs.head(first.up.s3_key))?.size ?? 0).toBe(0);
    expect((await srv.blobs.head(second.up.s3_key))?.size).toBe(200);
    expect((await srv.blobs.head(third.s3_key))?.size).toBe(300);
    const settings = await api<SettingsResponse>('settings', undefined, 'GET');
    expect(settings.body.last_backup_at).toBe(done.body.created_at);
  });

  it('download_url: latest when absent or null, else the named slot', async () => {
    const api = await user();
    const empty = await api('download_url');
    expect(empty.status).toBe(404);
    expect(empty.body).toMatchObject({ code: 'backup_not_found' });
    const a = await backup(api, 111, 2);
    const b = await backup(api, 222, 1);
    for (const body of [undefined, {}, { backup_version: null }]) {
      const d = await download(api, body);
      expect(d.backup_version).toBe(1);
      expect(Buffer.from(d.got.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    }
    const d2 = await download(api, { backup_version: 2 });
    expect(d2).toMatchObject({
      backup_version: 2,
      backup_size: 111,
      created_at: a.info.created_at,
    });
    expect(Buffer.from(d2.got.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });

  it('delete removes the backup and its object', async () => {
    const api = await user();
    const a = await backup(api, 50);
    const b = await backup(api, 60);
    const r = await api('delete', { backup_version: a.info.backup_version });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: true, backup_version: a.info.backup_version });
    expect((await api('list')).body).toEqual([b.info]);
    // Emptied (a placeholder keeps the key while its upload URL lives).
    expect((await srv.blobs.head(a.up.s3_key))?.size ?? 0).toBe(0);
    const again = await api('delete', { backup_version: a.info.backup_version });
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: 'backup_not_found' });
    expect((await api('download_url', { backup_version: a.info.backup_version })).status).toBe(404);
    expect((await api('delete', {})).status).toBe(400);
  });

  it('settings: off until opted in; POST turns the daily backup on and off; GET reads it', async () => {
    const api = await user();
    expect((await api<SettingsResponse>('settings', undefined, 'GET')).body.backup_enabled).toBe(
      false,
    );
    const on = await api<SettingsResponse>('settings', { backup_enabled: true });
    expect(on.status).toBe(200);
    expect(on.body).toEqual({
      backup_enabled: true,
      last_backup_at: null,
      max_backup_size: srv.config.maxBackupSize,
      backups_allowed: true,
      backups_not_allowed_reason: null,
      last_verification: null,
    });
    expect((await api('settings', undefined, 'GET')).body).toEqual(on.body);
    expect((await api('settings', { backup_enabled: 'yes' })).status).toBe(400);
    expect((await api('settings', {})).status).toBe(400);
    const off = await api<SettingsResponse>('settings', { backup_enabled: false });
    expect(off.body.backup_enabled).toBe(false);
  });

  it('report: accepts outcomes, validates the body, counts them in /metrics', async () => {
    const api = await user();
    const ok = await api('report', {
      kind: 'backup',
      status: 'failure',
      error: 'disk full',
      notification_id: 'n1',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ received: true });
    expect((await api('report', { kind: 'restore', status: 'success' })).status).toBe(200);
    for (const bad of [
      { kind: 'sync', status: 'success' },
      { kind: 'backup' },
      { kind: 'backup', status: 'success', extra: 1 },
      { kind: 'backup', status: 'failure', error: 'x'.repeat(501) },
    ]) {
      const r = await api('report', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body).toMatchObject({ code: 'bad_request' });
    }
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    // Free text is not a label: counted under `other` (test/metrics-reports.test.ts).
    expect(metrics).toMatch(
      /noah_client_reports_total\{kind="backup",status="failure",error="other"\} 1/,
    );
  });

  it('limits live pending uploads per user (429 quota_exceeded) until they expire', async () => {
    const api = await user();
    for (let i = 0; i < srv.config.maxPendingUploads; i++) await uploadUrl(api, 10);
    const r = await api('upload_url', { backup_size: 10 });
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ code: 'quota_exceeded' });
    // Another user is not affected.
    expect((await (await user())('upload_url', { backup_size: 10 })).status).toBe(200);
    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000 + 1000);
    expect((await api('upload_url', { backup_size: 10 })).status).toBe(200);
  });

  it('signed URLs: tampered and expired ones are refused with 403', async () => {
    const api = await user();
    const done = await backup(api, 100);
    const up = await uploadUrl(api, 100);
    const bytes = new Uint8Array(100);
    // Another object key under the same signature.
    const otherKey = up.upload_url.replace(up.s3_key, `b/${'0'.repeat(32)}`);
    expect((await putBytes(otherKey, bytes, up.upload_headers)).status).toBe(403);
    // A flipped signature character.
    const u = new URL(up.upload_url);
    const sigName = [...u.searchParams.keys()].find((k) => /sig/i.test(k))!;
    const sig = u.searchParams.get(sigName)!;
    u.searchParams.set(sigName, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    expect((await putBytes(u.href, bytes, up.upload_headers)).status).toBe(403);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();

    const get = await api<DownloadUrlResponse>('download_url', {});
    const g = new URL(get.body.download_url);
    const gName = [...g.searchParams.keys()].find((k) => /sig/i.test(k))!;
    const gSig = g.searchParams.get(gName)!;
    g.searchParams.set(gName, (gSig[0] === 'a' ? 'b' : 'a') + gSig.slice(1));
    expect((await getBytes(g.href)).status).toBe(403);
    expect((await getBytes(get.body.download_url)).status).toBe(200);

    // Expired: the download URL after 5 minutes, the upload URL after 15.
    srv.clock.advance(srv.config.downloadUrlTtlSec * 1000 + 1000);
    expect((await getBytes(get.body.download_url)).status).toBe(403);
    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000);
    expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(403);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();
    expect((await api('list')).body).toEqual([done.info]);
  });
});
