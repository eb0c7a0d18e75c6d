/**
 * A full disk (docs/OPERATIONS.md "A full disk"): running out of space is the server's
 * trouble, not the client's — a retryable 507 `storage_full` with `Retry-After`, never a
 * 400 or a bare 500; `/ready` says the instance cannot take uploads; and nothing already
 * stored is harmed. SQLite + the fs store on a real, really full filesystem (a small
 * tmpfs); PostgreSQL answering its own disk_full error (SQLSTATE 53100) on the other
 * stack.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { manualClock } from '@noah-backup/core/clock';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/app.ts';
import { createBlobStore } from '../src/blob/index.ts';
import { createHttpServer } from '../src/http/limits.ts';
import { createLogger } from '../src/logging.ts';
import { createMetadataStore } from '../src/metadata/index.ts';
import type { BlobStore } from '../src/stores/blob.ts';
import type { MetadataStore } from '../src/stores/metadata.ts';
import { backupApi, call, getBytes, login, newKey } from './helpers/client.ts';
import { startTestServer, type TestServer, testConfig } from './helpers/server.ts';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.ts';

const KIB = 1024;

/** PUTs bytes; status, error code and Retry-After. */
async function put(url: string, bytes: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'PUT', body: Buffer.from(bytes), headers });
  const text = await res.text();
  const code = text.startsWith('{') ? (JSON.parse(text) as { code?: string }).code : undefined;
  return { status: res.status, code, retryAfter: res.headers.get('retry-after') };
}

describe('SQLite + fs on a full filesystem', () => {
  let disk: Tmpfs;
  let app: FastifyInstance;
  let metadata: MetadataStore;
  let blobs: BlobStore;
  let url: string;

  beforeAll(async () => {
    disk = await mountTmpfs(4 * 1024 * KIB);
    const base = testConfig({ maxBackupSize: 1024 * KIB, minFreeSpace: 512 * KIB });
    const http = createHttpServer(base.http, { perAddress: true });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const config = { ...base, publicUrl: url };
    metadata = await createMetadataStore(`sqlite:${join(disk.dir, 'noah.db')}`);
    blobs = await createBlobStore(pathToFileURL(join(disk.dir, 'blobs')).href, {
      publicUrl: url,
      maxObjectSize: config.maxBackupSize,
      signingSecret: new Uint8Array(randomBytes(32)),
    });
    app = await buildServer({
      config,
      metadata,
      blobs,
      clock: manualClock(new Date()),
      logger: createLogger({ level: 'silent' }),
      httpServer: http,
      webUi: false,
    });
  });
  afterEach(() => disk?.drain());
  afterAll(async () => {
    await app?.close();
    app?.server.closeAllConnections();
    await blobs?.close?.();
    await metadata?.close();
    await disk?.unmount();
  });

  it('refuses with a retryable 507, says so on /ready, and harms nothing stored', async () => {
    const api = backupApi(url, await login(url, newKey()));
    const upload = async (size: number) => {
      const r = await api<UploadUrlResponse>('upload_url', { backup_size: size });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    const complete = (up: UploadUrlResponse, size: number) =>
      api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: size,
      });
    const contents = async () => {
      const out = new Map<number, Buffer>();
      for (const b of (await api<BackupInfo[]>('list')).body) {
        const d = await api<DownloadUrlResponse>('download_url', {
          backup_version: b.backup_version,
        });
        out.set(b.backup_size, Buffer.from((await getBytes(d.body.download_url)).bytes));
      }
      return out;
    };

    // A good backup, an upload URL handed out and an object stored while there was room.
    const good = new Uint8Array(randomBytes(100 * KIB));
    const a = await upload(good.length);
    expect((await put(a.upload_url, good)).status).toBe(200);
    expect((await complete(a, good.length)).status).toBe(200);
    const late = await upload(300 * KIB);
    const staged = new Uint8Array(randomBytes(200 * KIB));
    const s = await upload(staged.length);
    expect((await put(s.upload_url, staged)).status).toBe(200);
    expect((await call(`${url}/ready`, { method: 'GET' })).status).toBe(200);

    await disk.fill();

    // The upload that runs out of space: the server's trouble, retryable; nothing left.
    const p = await put(late.upload_url, new Uint8Array(300 * KIB));
    expect([p.status, p.code]).toEqual([507, 'storage_full']);
    expect(Number(p.retryAfter)).toBeGreaterThan(0);
    expect(await blobs.head(late.s3_key)).toBeNull();
    expect(
      (await readdir(join(disk.dir, 'blobs', 'b'))).filter((n) => n.startsWith('.tmp')),
    ).toEqual([]);

    // Still in the balancer (restores and lists keep working), but saying it takes no
    // uploads; /ready/uploads is the check for a balancer that routes uploads apart.
    const ready = await call(`${url}/ready`, { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', uploads: false });
    const uploads = await call(`${url}/ready/uploads`, { method: 'GET' });
    expect(uploads.status).toBe(507);
    expect(uploads.body).toMatchObject({ code: 'storage_full' });
    for (const r of [
      await call(`${url}/v0/getk1`, { method: 'GET' }),
      await api('upload_url', { backup_size: 10 }),
      await complete(s, staged.length),
    ]) {
      expect(r.status, JSON.stringify(r.body)).toBe(507);
      expect(r.body).toMatchObject({ code: 'storage_full' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Reading still works, and the good backup is whole.
    expect(await contents()).toEqual(new Map([[good.length, Buffer.from(good)]]));

    await disk.drain();

    expect((await call(`${url}/ready`, { method: 'GET' })).body).toMatchObject({ uploads: true });
    expect((await call(`${url}/ready/uploads`, { method: 'GET' })).status).toBe(200);
    expect((await complete(s, staged.length)).status).toBe(200);
    expect(await contents()).toEqual(
      new Map([
        [good.length, Buffer.from(good)],
        [staged.length, Buffer.from(staged)],
      ]),
    );
    expect((await call(`${url}/v0/getk1`, { method: 'GET' })).status).toBe(200);
  });

  it('upload_url refuses below MIN_FREE_SPACE, before anything is uploaded', async () => {
    const api = backupApi(url, await login(url, newKey()));
    // 768 KiB free: room for a 200 KiB upload and the 512 KiB reserve, not for 300 KiB.
    await disk.fill(768 * KIB);
    const r = await api('upload_url', { backup_size: 300 * KIB });
    expect(r.status).toBe(507);
    expect(r.body).toMatchObject({ code: 'storage_full' });
    expect((await api('upload_url', { backup_size: 200 * KIB })).status).toBe(200);
  });
});

describe('PostgreSQL + S3 answering disk_full', () => {
  let srv: TestServer;
  let admin: pg.Client;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'postgres', blobKind: 's3' });
    admin = new pg.Client({ connectionString: srv.metadataUrl });
    await admin.connect();
    await admin.query(`create function noah_test_full() returns trigger language plpgsql as $$
      begin raise exception 'could not extend file: No space left on device' using errcode = 'disk_full'; end $$`);
  });
  afterAll(async () => {
    await admin?.end();
    await srv?.close();
  });

  it('a write that finds the database disk full is a retryable 507', async () => {
    const api = backupApi(srv.url, await login(srv.url, newKey()));
    for (const t of ['challenges', 'pending_uploads'])
      await admin.query(
        `create trigger full_${t} before insert on ${t} for each row execute function noah_test_full()`,
      );
    try {
      for (const r of [
        await call(`${srv.url}/v0/getk1`, { method: 'GET' }),
        await api('upload_url', { backup_size: 10 }),
      ]) {
        expect(r.status, JSON.stringify(r.body)).toBe(507);
        expect(r.body).toMatchObject({ code: 'storage_full' });
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      for (const t of ['challenges', 'pending_uploads'])
        await admin.query(`drop trigger full_${t} on ${t}`);
    }
    expect((await call(`${srv.url}/v0/getk1`, { method: 'GET' })).status).toBe(200);
    expect((await api('upload_url', { backup_size: 10 })).status).toBe(200);
  });
});
