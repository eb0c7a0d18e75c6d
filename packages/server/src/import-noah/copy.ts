/**
 * Writing imported objects into this server's blob store through the store's own
 * pre-signed PUT URLs, so they pass the checks every upload passes (exact size,
 * write-once key, atomic write), streaming: a backup is never held in memory whole.
 * The fs store's URLs are served by the server process (docs/OPERATIONS.md "The
 * bucket"); the import serves them itself, on a loopback port of its own, for the time
 * it runs.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';
import { createBlobStore } from '../blob/index.ts';
import type { ServerConfig } from '../config.ts';
import type { BlobStore } from '../stores/blob.ts';

/** The target blob store and how to write into it. */
export interface BlobWriter {
  blobs: BlobStore;
  /**
   * Streams exactly `size` bytes of `body` into a new object at `key`.
   * @returns the SHA-256 of what was written, lowercase hex
   * @throws when the store refuses the PUT or the body is not `size` bytes
   */
  put(key: string, body: Readable, size: number): Promise<string>;
  close(): Promise<void>;
}

/** PUT lifetime: long enough for the largest backup on a slow link. */
const PUT_EXPIRES_SEC = 3600;

function putStream(
  url: string,
  headers: Record<string, string>,
  body: Readable,
  size: number,
): Promise<string> {
  const hash = createHash('sha256');
  let seen = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      hash.update(chunk);
      done(seen > size ? short() : null, chunk);
    },
    // A short body must fail here: the store would otherwise wait for the missing bytes.
    flush: (done) => done(seen === size ? null : short()),
  });
  const short = () => new Error(`the source object is not the ${size} bytes expected`);
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<string>((resolve, reject) => {
    const req = request(u, {
      method: 'PUT',
      headers: { ...headers, 'content-length': String(size) },
    });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => {
        if (res.statusCode === 200 && seen === size) resolve(hash.digest('hex'));
        else reject(new Error(`the blob store refused the write (HTTP ${res.statusCode})`));
      });
    });
    req.once('error', reject);
    pipeline(body, tap, req).catch((err) => {
      req.destroy();
      reject(err);
    });
  });
}

/**
 * Opens the configured blob store for writing imported objects.
 * @param config - this server's configuration (BLOB_STORE_URL, PUBLIC_URL, MAX_BACKUP_SIZE)
 */
export async function openBlobWriter(config: ServerConfig): Promise<BlobWriter> {
  const common = { maxObjectSize: config.maxBackupSize };
  // The import signs URLs only for itself: a key of its own, never the server's.
  const signingSecret = new Uint8Array(randomBytes(32));
  if (config.blobStoreUrl.startsWith('s3://')) {
    const blobs = await createBlobStore(config.blobStoreUrl, {
      publicUrl: config.publicUrl,
      signingSecret,
      ...common,
    });
    return {
      blobs,
      async put(key, body, size) {
        const p = await blobs.presignPut(key, { size, expiresInSec: PUT_EXPIRES_SEC });
        return putStream(p.url, p.headers, body, size);
      },
      close: async () => blobs.close?.(),
    };
  }
  // The fs store: one instance serves its routes on loopback, a second one (same
  // directory and key) signs URLs that point there.
  const serving = await createBlobStore(config.blobStoreUrl, {
    publicUrl: 'http://127.0.0.1',
    signingSecret,
    ...common,
  });
  const app = Fastify({ forceCloseConnections: true });
  if (serving.routes) await app.register(serving.routes);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const publicUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const blobs = await createBlobStore(config.blobStoreUrl, { publicUrl, signingSecret, ...common });
  return {
    blobs,
    async put(key, body, size) {
      const p = await blobs.presignPut(key, { size, expiresInSec: PUT_EXPIRES_SEC });
      return putStream(p.url, p.headers, body, size);
    },
    async close() {
      await app.close();
      await blobs.close?.();
      await serving.close?.();
    },
  };
}
