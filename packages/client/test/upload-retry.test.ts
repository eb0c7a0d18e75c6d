/**
 * Write-once upload URLs (docs/API.md "Uploading") seen from the client, against the real
 * server on sqlite+fs and postgres+s3: when a PUT is stored but its answer is lost, the
 * retry is refused as "already stored" (409 `conflict` / 412) and the client goes on to
 * complete_upload, which checks the size; a first attempt refused that way is an error.
 */
import { randomBytes } from 'node:crypto';
import { fromBytes } from '@noah-backup/core/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../src/api-client.ts';
import { ApiError } from '../src/errors.ts';
import type { FetchFn } from '../src/http.ts';
import { createSessionKeys } from '../src/keys.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { newMnemonic, startTestServer, type TestServer } from './helpers/device.ts';

describe.each(fullCombos)('upload retries on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  /** An API client whose network loses the answer of the first `lose` PUTs (after they land). */
  async function client(lose: number) {
    const keys = await createSessionKeys(newMnemonic(), srv.url);
    const puts: number[] = [];
    const net: FetchFn = async (url, init) => {
      const res = await fetch(url, init);
      if (init?.method !== 'PUT') return res;
      puts.push(res.status);
      if (puts.length > lose) return res;
      await res.arrayBuffer(); // the object is stored; the answer never arrives
      throw new TypeError('fetch failed');
    };
    const api = createApiClient({
      baseUrl: srv.url,
      signer: keys.signer,
      fetch: net,
      sleep: async () => {},
    });
    return { api, puts, close: () => keys.destroy() };
  }

  const source = (bytes: Uint8Array) => ({
    size: bytes.length,
    open: () => fromBytes(bytes),
    cleanup: async () => {},
  });

  it('a stored PUT whose answer was lost: the retry is "already stored", the backup completes', async () => {
    const c = await client(1);
    try {
      const bytes = new Uint8Array(randomBytes(3000));
      const target = await c.api.uploadUrl({ backup_size: bytes.length });
      const progress: number[] = [];
      await c.api.upload(target, source(bytes), { onProgress: (n) => progress.push(n) });
      expect(c.puts).toEqual([200, combo.blobKind === 'fs' ? 409 : 412]);
      expect(progress.at(-1)).toBe(bytes.length);
      const done = await c.api.completeUpload({
        s3_key: target.s3_key,
        backup_version: target.backup_version,
        backup_size: bytes.length,
      });
      expect(done.backup_size).toBe(bytes.length);
      const d = await c.api.downloadUrl({ backup_version: target.backup_version });
      const got = new Uint8Array(await (await fetch(d.download_url)).arrayBuffer());
      expect(got).toEqual(bytes);
    } finally {
      c.close();
    }
  });

  it('"already stored" on the first attempt is an error, not a success', async () => {
    const c = await client(0);
    try {
      const bytes = new Uint8Array(randomBytes(1000));
      const target = await c.api.uploadUrl({ backup_size: bytes.length });
      await c.api.upload(target, source(bytes));
      const again = await c.api.upload(target, source(bytes)).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(ApiError);
      expect((again as ApiError).status).toBe(combo.blobKind === 'fs' ? 409 : 412);
      expect(c.puts).toEqual([200, (again as ApiError).status]);
    } finally {
      c.close();
    }
  });
});
