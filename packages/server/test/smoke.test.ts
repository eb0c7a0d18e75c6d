import { randomBytes } from 'node:crypto';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, call, getBytes, login, putBytes } from './helpers/client.ts';
import { type TestServer, smokeCombos, startTestServer } from './helpers/server.ts';

describe.each(smokeCombos)('smoke on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  it('login, upload, complete, rotate, list, download, delete, logout', async () => {
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    const made: { bytes: Uint8Array; up: UploadUrlResponse; info: BackupInfo }[] = [];
    for (const size of [100, 200, 300]) {
      const bytes = new Uint8Array(randomBytes(size));
      const up = (await api<UploadUrlResponse>('upload_url', { backup_size: size })).body;
      expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(200);
      const done = await api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: size,
      });
      expect(done.status).toBe(200);
      made.push({ bytes, up, info: done.body });
      srv.clock.advance(1000);
    }
    expect(made.map((m) => m.info.backup_version)).toEqual([1, 2, 1]);
    expect((await api('list')).body).toEqual([made[2]!.info, made[1]!.info]);
    expect((await srv.blobs.head(made[0]!.up.s3_key))?.size ?? 0).toBe(0);
    const d = (await api<DownloadUrlResponse>('download_url')).body;
    const got = await getBytes(d.download_url);
    expect(Buffer.from(got.bytes).equals(Buffer.from(made[2]!.bytes))).toBe(true);
    expect((await api('delete', { backup_version: 2 })).status).toBe(200);
    expect((await api('list')).body).toEqual([made[2]!.info]);
    expect((await call(`${srv.url}/v0/auth/logout`, { token })).status).toBe(200);
    expect((await api('list')).status).toBe(401);
  });
});
