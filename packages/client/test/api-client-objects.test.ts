/**
 * The API client's calls of incremental backups (docs/API.md "Incremental backups"),
 * against the real server on sqlite+fs and postgres+s3: `uploadUrls`, `upload` to each
 * target, `completeUpload` with `objects` and `base`, `downloadUrls` and `download` of
 * each object; `base_changed` reaches the caller as an ApiError and is not retried; a
 * completion whose answer was lost is retried into the same backup, even though it
 * replaced its own base.
 */
import { randomBytes } from 'node:crypto';
import type { ObjectRef } from '@noah-backup/core/api';
import { fromBytes } from '@noah-backup/core/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, createApiClient } from '../src/api-client.ts';
import { ApiError } from '../src/errors.ts';
import type { FetchFn } from '../src/http.ts';
import { createSessionKeys } from '../src/keys.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { newMnemonic, startTestServer, type TestServer } from './helpers/device.ts';

describe.each(fullCombos)(
  'API client, incremental calls, on $metadataKind + $blobKind',
  (combo) => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer(combo);
    });
    afterAll(() => srv?.close());

    /**
     * A client whose network counts the JSON calls by path and, while `loseNext` names a
     * path, loses the answer of its next call after the server handled it.
     */
    async function client() {
      const keys = await createSessionKeys(newMnemonic(), srv.url);
      const calls = new Map<string, number>();
      const net = {
        loseNext: null as string | null,
        fetch: (async (url, init) => {
          const path = new URL(String(url)).pathname;
          calls.set(path, (calls.get(path) ?? 0) + 1);
          const res = await fetch(url, init);
          if (net.loseNext !== path) return res;
          net.loseNext = null;
          await res.arrayBuffer(); // handled; the answer never arrives
          throw new TypeError('fetch failed');
        }) as FetchFn,
      };
      const api = createApiClient({
        baseUrl: srv.url,
        signer: keys.signer,
        fetch: net.fetch,
        sleep: async () => {},
      });
      return { api, net, calls, close: () => keys.destroy() };
    }

    const source = (bytes: Uint8Array) => ({
      size: bytes.length,
      open: () => fromBytes(bytes),
      cleanup: async () => {},
    });

    /** Uploads objects of `sizes` through `uploadUrls` and `upload`; references and bytes. */
    async function uploadObjects(api: ApiClient, ...sizes: number[]) {
      const { objects } = await api.uploadUrls({ objects: sizes.map((size) => ({ size })) });
      const refs: ObjectRef[] = [];
      const bytes = new Map<string, Uint8Array>();
      for (const [i, t] of objects.entries()) {
        const b = new Uint8Array(randomBytes(sizes[i]!));
        await api.upload(t, source(b));
        refs.push({ s3_key: t.s3_key, size: b.length });
        bytes.set(t.s3_key, b);
      }
      return { refs, bytes };
    }

    /** A slot object uploaded through `uploadUrl`, completed with `objects` and `base`. */
    async function backup(api: ApiClient, objects: ObjectRef[], base?: string) {
      const bytes = new Uint8Array(randomBytes(64));
      const up = await api.uploadUrl({ backup_size: bytes.length });
      await api.upload(up, source(bytes));
      srv.clock.advance(1000);
      const info = await api.completeUpload({
        s3_key: up.s3_key,
        backup_version: up.backup_version,
        backup_size: bytes.length,
        objects,
        ...(base === undefined ? {} : { base }),
      });
      return { info, key: up.s3_key };
    }

    async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
      const parts: Uint8Array[] = [];
      for await (const p of stream) parts.push(p);
      return Buffer.concat(parts);
    }

    it('uploads objects, completes a backup that references them, downloads them all', async () => {
      const c = await client();
      try {
        const { refs, bytes } = await uploadObjects(c.api, 3000, 1500);
        const { info } = await backup(c.api, refs);
        expect(info).toMatchObject({ total_size: 64 + 4500, object_count: 2 });
        const all = await c.api.downloadUrls({ backup_version: info.backup_version });
        expect(all.objects.map((o) => ({ s3_key: o.s3_key, size: o.size }))).toEqual(refs);
        expect((await collect(c.api.download(all))).length).toBe(64);
        for (const o of all.objects) {
          const got = await collect(
            c.api.download({ download_url: o.download_url, backup_size: o.size }),
          );
          expect(got.equals(bytes.get(o.s3_key)!)).toBe(true);
        }
        expect(await c.api.list()).toEqual([info]);
      } finally {
        c.close();
      }
    });

    it('a base no slot holds: ApiError base_changed, not retried', async () => {
      const c = await client();
      try {
        const first = await backup(c.api, []);
        await backup(c.api, []);
        await backup(c.api, []); // replaces the first
        const { refs } = await uploadObjects(c.api, 100);
        const before = c.calls.get('/v0/backup/complete_upload') ?? 0;
        const err = await backup(c.api, refs, first.key).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ApiError);
        expect(err).toMatchObject({ status: 409, code: 'base_changed' });
        expect((c.calls.get('/v0/backup/complete_upload') ?? 0) - before).toBe(1);
      } finally {
        c.close();
      }
    });

    it('a completion whose answer was lost is retried into the same backup', async () => {
      const c = await client();
      try {
        const older = await backup(c.api, []);
        await backup(c.api, []);
        const { refs } = await uploadObjects(c.api, 200);
        // This completion replaces its own base (the older slot); the retry must not be
        // refused for it.
        c.net.loseNext = '/v0/backup/complete_upload';
        const done = await backup(c.api, refs, older.key);
        expect(c.net.loseNext).toBeNull();
        expect(done.info).toMatchObject({ object_count: 1, total_size: 264 });
        const list = await c.api.list();
        expect(list[0]).toEqual(done.info);
        expect(list.map((b) => b.object_count)).toEqual([1, 0]);
      } finally {
        c.close();
      }
    });
  },
);
