/**
 * Checksums through the API (docs/API.md "Checksums"): a SHA-256 given at `upload_url`
 * binds the upload URL and is recorded at completion; one given at `complete_upload`
 * that contradicts the stored object is refused with 409 `checksum_mismatch` and
 * changes nothing; a client that gives none keeps working.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BackupInfo, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, login, putBytes } from './helpers/client.ts';
import { type TestServer, startTestServer } from './helpers/server.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('checksums through the API (fs store)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  });
  afterAll(() => srv?.close());

  it('a checksum declared at upload_url binds the URL and is recorded; another one at completion is refused', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const bytes = new Uint8Array(randomBytes(999));
    const up = (
      await api<UploadUrlResponse>('upload_url', { backup_size: 999, sha256: sha256(bytes) })
    ).body;
    const wrong = new Uint8Array(randomBytes(999));
    expect((await putBytes(up.upload_url, wrong, up.upload_headers)).status).toBe(400);
    expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(200);
    const complete = (sha?: string) =>
      api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: 999,
        ...(sha === undefined ? {} : { sha256: sha }),
      });
    const refused = await complete(sha256(wrong));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'checksum_mismatch' });
    expect((await api<BackupInfo[]>('list', {})).body).toEqual([]);
    expect((await complete(sha256(bytes))).status).toBe(200);
    const [row] = await srv.metadata.getObjectChecksums([up.s3_key]);
    expect(row?.sha256).toBe(sha256(bytes));
  });

  it('without a checksum at upload_url, the stored object is checked at completion; none at all still works', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const bytes = new Uint8Array(randomBytes(500));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 500 })).body;
    expect((await putBytes(up.upload_url, bytes, up.upload_headers)).status).toBe(200);
    const body = { s3_key: up.s3_key, backup_version: up.backup_version, backup_size: 500 };
    const refused = await api('complete_upload', { ...body, sha256: sha256(new Uint8Array(500)) });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'checksum_mismatch' });
    expect((await api('complete_upload', body)).status).toBe(200);
    // The fs store read the file: the checksum is recorded for the scrub.
    expect((await srv.metadata.getObjectChecksums([up.s3_key]))[0]?.sha256).toBe(sha256(bytes));
  });

  it('a malformed checksum is a 400', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const r = await api('upload_url', { backup_size: 5, sha256: 'ABCD' });
    expect(r.status).toBe(400);
  });
});
