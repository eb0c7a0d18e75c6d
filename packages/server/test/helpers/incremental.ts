/**
 * Test helper: one user's incremental backups against the real server (docs/API.md
 * "Incremental backups"), with random bytes standing in for the encrypted manifest and
 * packs — the server never reads them. Remembers every object's bytes, so a test can
 * check that a backup restores: every URL `download_urls` returns serves exactly what
 * was uploaded.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type {
  BackupInfo,
  DownloadUrlsResponse,
  ObjectRef,
  UploadUrlResponse,
  UploadUrlsResponse,
} from '@noah-backup/core/api';
import { expect } from 'vitest';
import { backupApi, getBytes, login, newKey, putBytes, type Res, type TestKey } from './client.ts';
import type { TestServer } from './server.ts';

/** A backup's slot object, uploaded and not yet completed. */
export interface StagedManifest {
  up: UploadUrlResponse;
  size: number;
}

/** A logged-in user making incremental backups. */
export interface IncrementalUser {
  api: ReturnType<typeof backupApi>;
  /** The linking key (log in with it again for a second device of the same user). */
  key: TestKey;
  /** Every object uploaded, by key (share it between devices of one user). */
  bytes: Map<string, Buffer>;
  /** `upload_urls` for `sizes`, then a PUT of random bytes to each; the references. */
  packs(...sizes: number[]): Promise<ObjectRef[]>;
  /** `upload_url` and a PUT of a slot object of `size` bytes. */
  manifest(size?: number): Promise<StagedManifest>;
  /** `complete_upload` of `m` with `objects` (and `base`). */
  complete(m: StagedManifest, objects: ObjectRef[], base?: string): Promise<Res<BackupInfo>>;
  /** A staged manifest completed with `objects`; throws unless 200. */
  backup(objects: ObjectRef[], base?: string): Promise<{ info: BackupInfo; key: string }>;
  /**
   * Fetches every URL `download_urls` gives for `version` and checks each object has
   * the bytes uploaded; returns the answer.
   */
  restore(version: 1 | 2): Promise<DownloadUrlsResponse>;
}

/**
 * Logs a user in on `srv`: a new one, or with `opts.key` another device of one.
 *
 * @param srv - the running test server
 * @param opts - the linking key and the bytes map of another device of the same user
 * @returns the user's helpers
 */
export async function incrementalUser(
  srv: TestServer,
  opts: { key?: TestKey; bytes?: Map<string, Buffer> } = {},
): Promise<IncrementalUser> {
  const key = opts.key ?? newKey();
  const api = backupApi(srv.url, await login(srv.url, key));
  const bytes = opts.bytes ?? new Map<string, Buffer>();
  const put = async (key: string, url: string, headers: Record<string, string>, size: number) => {
    const b = randomBytes(size);
    const r = await putBytes(url, new Uint8Array(b), headers);
    expect(r.status, r.text).toBe(200);
    bytes.set(key, b);
  };
  const self: IncrementalUser = {
    api,
    key,
    bytes,
    async packs(...sizes) {
      const r = await api<UploadUrlsResponse>('upload_urls', {
        objects: sizes.map((size) => ({ size })),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const out: ObjectRef[] = [];
      for (const [i, t] of r.body.objects.entries()) {
        await put(t.s3_key, t.upload_url, t.upload_headers, sizes[i]!);
        out.push({ s3_key: t.s3_key, size: sizes[i]! });
      }
      return out;
    },
    async manifest(size = 40) {
      const r = await api<UploadUrlResponse>('upload_url', { backup_size: size });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      await put(r.body.s3_key, r.body.upload_url, r.body.upload_headers, size);
      return { up: r.body, size };
    },
    complete(m, objects, base) {
      srv.clock.advance(1000);
      return api<BackupInfo>('complete_upload', {
        s3_key: m.up.s3_key,
        backup_version: m.up.backup_version,
        backup_size: m.size,
        objects,
        ...(base === undefined ? {} : { base }),
      });
    },
    async backup(objects, base) {
      const m = await self.manifest();
      const r = await self.complete(m, objects, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return { info: r.body, key: m.up.s3_key };
    },
    async restore(version) {
      const r = await api<DownloadUrlsResponse>('download_urls', { backup_version: version });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const check = async (key: string | null, url: string, size: number) => {
        const got = await getBytes(url);
        expect(got.status).toBe(200);
        expect(got.bytes.length).toBe(size);
        if (key !== null) expect(Buffer.from(got.bytes).equals(bytes.get(key)!)).toBe(true);
        return Buffer.from(got.bytes);
      };
      const slot = await check(null, r.body.download_url, r.body.backup_size);
      expect([...bytes.values()].some((b) => b.equals(slot))).toBe(true);
      for (const o of r.body.objects) await check(o.s3_key, o.download_url, o.size);
      return r.body;
    },
  };
  return self;
}
