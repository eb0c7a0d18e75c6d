import { randomBytes } from 'node:crypto';
import type { UploadUrlResponse } from '@noah-backup/core/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiClient, createApiClient } from '../src/api-client.ts';
import { ApiError, IntegrityError, NetworkError } from '../src/errors.ts';
import type { FetchFn } from '../src/http.ts';
import { nodeFetch } from '../src/node/http-fetch.ts';
import type { TransferTimeouts } from '../src/transfer.ts';
import { apiError, type Handler, type LocalServer, startLocalServer } from './helpers/http.ts';

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Transfers never log in: pre-signed URLs carry their own authority. */
const noLogin = {
  linkingKey: '02'.padEnd(66, '0'),
  signK1: () => {
    throw new Error('transfers must not log in');
  },
};

/** Every transfer test runs over both transports: the global fetch and node:http. */
const TRANSPORTS: { name: string; fetch: FetchFn | undefined }[] = [
  { name: 'the global fetch', fetch: undefined },
  { name: 'nodeFetch', fetch: nodeFetch },
];
let transport: FetchFn | undefined;

function api(timeouts: Partial<TransferTimeouts> = {}, maxAttempts = 4): ApiClient {
  return createApiClient({
    ...(transport ? { fetch: transport } : {}),
    baseUrl: server!.url,
    signer: noLogin,
    sleep: async () => {},
    retry: { maxAttempts },
    transferTimeouts: timeouts,
  });
}

/** A spooled blob over bytes, counting how often it was opened. */
function memoryBlob(bytes: Uint8Array, chunk = 1000) {
  const blob = {
    opened: 0,
    size: bytes.length,
    async *open() {
      blob.opened++;
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    },
    async cleanup() {},
  };
  return blob;
}

function target(path = '/put?X-Sig=SECRETSIG'): UploadUrlResponse {
  return {
    upload_url: server!.url + path,
    s3_key: 'k',
    backup_version: 1,
    expires_at: '2026-01-01T00:00:00Z',
    upload_headers: { 'x-amz-meta-test': 'yes' },
  };
}

const ok: Handler = (_req, res) => {
  res.writeHead(200);
  res.end();
};

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

describe.each(TRANSPORTS)('over $name', (t) => {
  beforeEach(() => {
    transport = t.fetch;
  });

  describe('upload', () => {
    it('PUTs exactly the bytes with Content-Length, the signed headers and no bearer token', async () => {
      server = await startLocalServer(ok);
      const data = randomBytes(50_000);
      const progress: number[] = [];
      await api().upload(target(), memoryBlob(data), { onProgress: (b) => progress.push(b) });
      const [put] = server.requests;
      expect(put!.method).toBe('PUT');
      expect(put!.headers['content-length']).toBe('50000');
      expect(put!.headers['transfer-encoding']).toBeUndefined();
      expect(put!.headers['x-amz-meta-test']).toBe('yes');
      expect(put!.headers.authorization).toBeUndefined();
      expect(put!.body.equals(data)).toBe(true);
      expect(progress[0]).toBe(0);
      expect(progress.at(-1)).toBe(50_000);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    });

    it('re-opens the blob for each retry after a 500', async () => {
      let failures = 2;
      server = await startLocalServer((req, res) =>
        failures-- > 0 ? apiError(res, 500, 'internal') : ok(req, res, undefined as never),
      );
      const data = randomBytes(10_000);
      const blob = memoryBlob(data);
      await api().upload(target(), blob);
      expect(blob.opened).toBe(3);
      expect(server.requests).toHaveLength(3);
      expect(server.requests.every((r) => r.body.equals(data))).toBe(true);
    });

    it('does not retry a 403 and keeps the signed URL out of the error', async () => {
      server = await startLocalServer((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<Error><Code>SignatureDoesNotMatch</Code><StringToSign>X-Sig=SECRETSIG</StringToSign></Error>',
        );
      });
      const err = await api()
        .upload(target(), memoryBlob(randomBytes(100)))
        .catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(403);
      expect(err.message).toContain('SignatureDoesNotMatch');
      expect(JSON.stringify({ m: err.message, s: err.stack })).not.toContain('SECRETSIG');
      expect(server.requests).toHaveLength(1);
    });

    it('refuses a blob that holds fewer bytes than it declared', async () => {
      server = await startLocalServer(ok);
      const data = randomBytes(1000);
      const lying = { ...memoryBlob(data), size: 2000 };
      await expect(api().upload(target(), lying)).rejects.toBeInstanceOf(IntegrityError);
    });

    it('fails a stalled upload by its idle timeout, not a fixed deadline', async () => {
      server = await startLocalServer(() => {}); // reads the body, never answers
      const err = await api({ idleMs: 150, baseMs: 600_000 }, 2)
        .upload(target(), memoryBlob(randomBytes(1000)))
        .catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.code).toBe('stalled');
      expect(server.requests).toHaveLength(2);
    });

    it('sends a Blob body when the source offers one', async () => {
      server = await startLocalServer(ok);
      const data = randomBytes(3000);
      const source = { ...memoryBlob(data), blob: new Blob([new Uint8Array(data)]) };
      await api().upload(target(), source);
      expect(source.opened).toBe(0);
      expect(server.requests[0]!.body.equals(data)).toBe(true);
      expect(server.requests[0]!.headers['content-length']).toBe('3000');
    });
  });

  /** Serves `data`; the first `drops` answers break after `cut` bytes; Range on request. */
  function blobServer(
    data: Buffer,
    opts: { drops?: number; cut?: number; range?: boolean } = {},
  ): Handler {
    let drops = opts.drops ?? 0;
    return (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      const start = opts.range && m ? Number(m[1]) : 0;
      const body = data.subarray(start);
      res.writeHead(start > 0 ? 206 : 200, {
        'content-length': String(body.length),
        ...(start > 0
          ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` }
          : {}),
      });
      if (drops-- > 0) {
        res.write(body.subarray(0, opts.cut ?? 100), () => res.socket?.destroy());
        return;
      }
      res.end(body);
    };
  }

  describe('download', () => {
    const dl = (size: number) => ({
      download_url: `${server!.url}/get?sig=SECRET`,
      backup_size: size,
    });

    it('streams the exact bytes with progress', async () => {
      const data = randomBytes(200_000);
      server = await startLocalServer(blobServer(data));
      const progress: number[] = [];
      const got = await collect(
        api().download(dl(data.length), { onProgress: (b) => progress.push(b) }),
      );
      expect(got.equals(data)).toBe(true);
      expect(progress.at(-1)).toBe(data.length);
    });

    it('resumes a broken download with Range', async () => {
      const data = randomBytes(300_000);
      server = await startLocalServer(blobServer(data, { drops: 2, cut: 70_000, range: true }));
      const got = await collect(api().download(dl(data.length)));
      expect(got.equals(data)).toBe(true);
      expect(server.requests.map((r) => r.headers.range)).toEqual([
        undefined,
        expect.stringMatching(/^bytes=\d+-$/),
        expect.stringMatching(/^bytes=\d+-$/),
      ]);
    });

    it('resumes by skipping when the store ignores Range', async () => {
      const data = randomBytes(300_000);
      server = await startLocalServer(blobServer(data, { drops: 1, cut: 123_456 }));
      const got = await collect(api().download(dl(data.length)));
      expect(got.equals(data)).toBe(true);
      expect(server.requests).toHaveLength(2);
    });

    it('refuses an object longer than backup_size', async () => {
      const data = randomBytes(5000);
      server = await startLocalServer((_req, res) => res.end(data)); // chunked, no length
      await expect(collect(api().download(dl(4000)))).rejects.toBeInstanceOf(IntegrityError);
    });

    it('refuses a Content-Length that disagrees with backup_size', async () => {
      const data = randomBytes(5000);
      server = await startLocalServer(blobServer(data));
      await expect(collect(api().download(dl(6000)))).rejects.toBeInstanceOf(IntegrityError);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a download that ends early, then gives up', async () => {
      const data = randomBytes(5000);
      server = await startLocalServer((_req, res) => {
        res.write(data.subarray(0, 4000)); // chunked: no length to check up front
        res.end();
      });
      const err = await collect(api({}, 3).download(dl(5000))).catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.code).toBe('incomplete_transfer');
      expect(server.requests).toHaveLength(3);
    });

    it('does not retry a 404 and keeps the URL out of the error', async () => {
      server = await startLocalServer((_req, res) => apiError(res, 404, 'not_found'));
      const err = await collect(api().download(dl(10))).catch((e) => e);
      expect(err).toMatchObject({ status: 404, code: 'backup_not_found' });
      expect(err.message).not.toContain('SECRET');
      expect(server.requests).toHaveLength(1);
    });

    it('fails a stalled download by its idle timeout', async () => {
      server = await startLocalServer((_req, res) => {
        res.writeHead(200, { 'content-length': '5000' });
        res.write(Buffer.alloc(100));
      });
      const err = await collect(api({ idleMs: 150 }, 1).download(dl(5000))).catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.code).toBe('stalled');
    });

    it('lets the consumer stop early without an error', async () => {
      const data = randomBytes(500_000);
      server = await startLocalServer(blobServer(data));
      let n = 0;
      for await (const c of api().download(dl(data.length))) {
        n += c.length;
        break;
      }
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(data.length);
    });
  });
});
