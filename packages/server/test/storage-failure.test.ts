import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore } from '../src/blob/index.ts';
import type { BlobStore } from '../src/stores/blob.ts';
import { sweep } from '../src/sweeper.ts';
import { backupApi, getBytes, login, putBytes } from './helpers/client.ts';
import { type TestServer, buildPeer, injectApi, startTestServer } from './helpers/server.ts';

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// The S3 store pointed at a dead endpoint: every call fails like an outage.
describe.each([
  { metadataKind: 'postgres', blobKind: 's3' },
  { metadataKind: 'sqlite', blobKind: 's3' },
] as const)('blob store outage on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  let broken: BlobStore;
  let peer: FastifyInstance;
  beforeAll(async () => {
    srv = await startTestServer(combo);
    const url = new URL(srv.blob.url);
    url.searchParams.set('endpoint', `http://127.0.0.1:${await closedPort()}`);
    broken = await createBlobStore(url.href, {
      publicUrl: srv.url,
      clock: srv.clock,
      maxObjectSize: srv.config.maxBackupSize,
    });
    peer = await buildPeer(srv, { blobs: broken });
  });
  afterAll(async () => {
    await peer?.close();
    await broken?.close?.();
    await srv?.close();
  });

  it('completion answers 503 and changes nothing; the old backup still downloads', async () => {
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    const oldBytes = new Uint8Array(randomBytes(300));
    const first = (
      await api<UploadUrlResponse>('upload_url', { backup_size: 300, backup_version: 1 })
    ).body;
    await putBytes(first.upload_url, oldBytes, first.upload_headers);
    const old = (
      await api<BackupInfo>('complete_upload', {
        s3_key: first.s3_key,
        backup_version: 1,
        backup_size: 300,
      })
    ).body;
    srv.clock.advance(1000);

    // A new upload into the same slot, PUT while S3 was up; completion hits the outage.
    const next = (
      await api<UploadUrlResponse>('upload_url', { backup_size: 200, backup_version: 1 })
    ).body;
    await putBytes(next.upload_url, new Uint8Array(200), next.upload_headers);
    const body = { s3_key: next.s3_key, backup_version: 1, backup_size: 200 };
    const r = await injectApi(peer, token)('complete_upload', body);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'storage_unavailable' });

    expect((await api('list')).body).toEqual([old]);
    const d = (await api<DownloadUrlResponse>('download_url', { backup_version: 1 })).body;
    const got = await getBytes(d.download_url);
    expect(Buffer.from(got.bytes).equals(Buffer.from(oldBytes))).toBe(true);
    expect((await srv.blobs.head(next.s3_key))?.size).toBe(200);

    // When storage is back the same completion succeeds, then the old object goes.
    const ok = await api<BackupInfo>('complete_upload', body);
    expect(ok.status).toBe(200);
    expect((await srv.blobs.head(first.s3_key))?.size ?? 0).toBe(0);
  });

  it('readiness reports the outage', async () => {
    const r = await peer.inject({ method: 'GET', url: '/ready' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ code: 'not_ready' });
    expect(r.json().message).toContain('blobs');
  });

  it('a delete during the outage succeeds and queues the object for the sweeper', async () => {
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 40 })).body;
    await putBytes(up.upload_url, new Uint8Array(40), up.upload_headers);
    await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: 40,
    });
    const del = await injectApi(peer, token)('delete', { backup_version: up.backup_version });
    expect(del.status).toBe(200);
    expect((await api('list')).body).toEqual([]);
    expect(await srv.metadata.listObjectDeletions(100)).toContain(up.s3_key);
    expect(await srv.blobs.head(up.s3_key)).not.toBeNull();

    // A sweep against the dead store reports errors and throws nothing; a healthy one cleans up.
    const failed = await sweep({
      metadata: srv.metadata,
      blobs: broken,
      clock: srv.clock,
      orphanMinAgeSec: 3600,
    });
    expect(failed.errors).toBeGreaterThan(0);
    // The object stays until its upload URL, and a PUT begun just before it expired,
    // are over (docs/OPERATIONS.md "Storage bounds"); then a healthy sweep deletes it.
    const early = await sweep({
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: 3600,
    });
    expect(early.queuedDeletions).toBe(0);
    expect((await srv.blobs.head(up.s3_key))?.size).toBe(40);
    srv.clock.advance((srv.config.uploadUrlTtlSec + srv.config.http.requestTimeoutSec) * 1000);
    const r = await sweep({
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: 3600,
    });
    // (The object the first test replaced is due by now too.)
    expect(r.queuedDeletions).toBeGreaterThanOrEqual(1);
    expect(await srv.metadata.listObjectDeletions(100)).not.toContain(up.s3_key);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();
  });
});
