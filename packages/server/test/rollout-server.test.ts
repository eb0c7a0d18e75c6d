import { randomBytes } from 'node:crypto';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutBucket } from '../src/rollout.ts';
import { type TestKey, backupApi, getBytes, login, newKey, putBytes } from './helpers/client.ts';
import { type TestServer, buildPeer, injectApi, startTestServer } from './helpers/server.ts';

/** A fresh key whose rollout bucket satisfies `want`. */
function keyWhere(want: (bucket: number) => boolean): TestKey {
  for (;;) {
    const k = newKey();
    if (want(rolloutBucket(k.key))) return k;
  }
}

describe('rollout switch', () => {
  let srv: TestServer;
  const peers: FastifyInstance[] = [];
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  });
  afterAll(async () => {
    for (const p of peers) await p.close();
    await srv?.close();
  });

  it('off: no new uploads (403 backups_not_enabled), but list, download and delete work', async () => {
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    const bytes = new Uint8Array(randomBytes(77));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 77 })).body;
    await putBytes(up.upload_url, bytes, up.upload_headers);
    const pendingUp = (await api<UploadUrlResponse>('upload_url', { backup_size: 5 })).body;
    await putBytes(pendingUp.upload_url, new Uint8Array(5), pendingUp.upload_headers);
    const done = await api<BackupInfo>('complete_upload', {
      s3_key: up.s3_key,
      backup_version: 1,
      backup_size: 77,
    });

    const off = await buildPeer(srv, { config: { rollout: { mode: 'off' } } });
    peers.push(off);
    const offApi = injectApi(off, token);
    const r = await offApi('upload_url', { backup_size: 10 });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'backups_not_enabled' });
    // Settings say so beforehand, so the app explains instead of meeting the 403.
    expect((await offApi('settings', undefined, 'GET')).body).toMatchObject({
      backups_allowed: false,
      backups_not_allowed_reason: 'rollout_paused',
    });
    expect((await api('settings', undefined, 'GET')).body).toMatchObject({
      backups_allowed: true,
      backups_not_allowed_reason: null,
    });
    expect((await offApi<BackupInfo[]>('list')).body).toEqual([done.body]);
    const d = await offApi<DownloadUrlResponse>('download_url', {});
    expect(d.status).toBe(200);
    const got = await getBytes(d.body.download_url);
    expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
    // An upload started before the switch may still be completed.
    const c = await offApi('complete_upload', {
      s3_key: pendingUp.s3_key,
      backup_version: pendingUp.backup_version,
      backup_size: 5,
    });
    expect(c.status).toBe(200);
    expect((await offApi('delete', { backup_version: 1 })).status).toBe(200);
  });

  it('percent:N lets in exactly the users whose stable bucket is below N', async () => {
    const inside = keyWhere((b) => b < 30);
    const outside = keyWhere((b) => b >= 30);
    const pct = await buildPeer(srv, { config: { rollout: { mode: 'percent', percent: 30 } } });
    peers.push(pct);
    const yes = await injectApi(pct, await login(srv.url, inside))('upload_url', {
      backup_size: 10,
    });
    expect(yes.status).toBe(200);
    const no = await injectApi(pct, await login(srv.url, outside))('upload_url', {
      backup_size: 10,
    });
    expect(no.status).toBe(403);
    expect(no.body).toMatchObject({ code: 'backups_not_enabled' });
    const settingsOf = async (k: TestKey) =>
      (await injectApi(pct, await login(srv.url, k))('settings', undefined, 'GET')).body;
    expect(await settingsOf(outside)).toMatchObject({
      backups_allowed: false,
      backups_not_allowed_reason: 'rollout_pending',
    });
    expect(await settingsOf(inside)).toMatchObject({
      backups_allowed: true,
      backups_not_allowed_reason: null,
    });
    // Stable: the same user gets the same answer on a second instance with the same N.
    const pct2 = await buildPeer(srv, { config: { rollout: { mode: 'percent', percent: 30 } } });
    peers.push(pct2);
    expect(
      (await injectApi(pct2, await login(srv.url, outside))('upload_url', { backup_size: 10 }))
        .status,
    ).toBe(403);
  });
});
