/**
 * Upload URLs are write-once (docs/API.md "Uploading"): a pre-signed PUT URL stays valid
 * until it expires, so a replay of it — by the client retrying, or by anyone who saw it
 * — must never replace the object, least of all after complete_upload made it the
 * user's backup. The fs store refuses with 409 `conflict`, S3 with 412 (a signed
 * `If-None-Match: *`).
 */
import { randomBytes } from 'node:crypto';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, getBytes, login, newKey, putBytes } from './helpers/client.ts';
import { type TestServer, fullCombos, smokeCombos, startTestServer } from './helpers/server.ts';

describe.each([...fullCombos, ...smokeCombos])(
  'write-once uploads on $metadataKind + $blobKind',
  (combo) => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer(combo);
    });
    afterAll(() => srv?.close());
    const refused = combo.blobKind === 'fs' ? 409 : 412;

    it('a replayed upload URL cannot replace a completed backup', async () => {
      const api = backupApi(srv.url, await login(srv.url, newKey()));
      const good = new Uint8Array(randomBytes(1500));
      const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 1500 })).body;
      expect((await putBytes(up.upload_url, good, up.upload_headers)).status).toBe(200);
      const done = await api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: 1500,
      });
      expect(done.status).toBe(200);

      // Same size, other bytes, same URL: refused, and the backup is what was completed.
      const evil = await putBytes(up.upload_url, new Uint8Array(1500), up.upload_headers);
      expect(evil.status).toBe(refused);
      if (combo.blobKind === 'fs')
        expect(JSON.parse(evil.text)).toMatchObject({ code: 'conflict' });
      const d = await api<DownloadUrlResponse>('download_url', {});
      expect((await getBytes(d.body.download_url)).bytes).toEqual(good);
      // complete_upload again is still the idempotent repeat of the first.
      const again = await api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: 1500,
      });
      expect(again.body).toEqual(done.body);
    });
  },
);
