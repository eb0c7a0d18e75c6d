/**
 * Blob stores for tests: `openTestBlobStore(kind)` gives a real store of each kind —
 * `fs` in a temp dir (served by a real Fastify app on a loopback port unless the caller
 * serves `store.routes` itself) and `s3` on s3rver behind the SigV4-verifying front
 * (helpers/s3.ts). Run a suite over every kind with `describe.each(blobStoreKinds)`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import type { Clock } from '@noah-backup/core/clock';
import { createBlobStore } from '../../src/blob/index.ts';
import type { BlobStore } from '../../src/stores/blob.ts';
import { type HarnessFaults, startS3Harness } from './s3.ts';

/** Every BlobStore backend; the contract suite runs once per kind. */
export const blobStoreKinds = ['fs', 's3'] as const;
/** A BlobStore backend name. */
export type BlobStoreKind = (typeof blobStoreKinds)[number];

/** What {@link openTestBlobStore} returns. */
export interface TestBlobStore {
  store: BlobStore;
  /** The store's URL (BLOB_STORE_URL): `file:///tmp/…` or `s3://key:secret@bucket?…`. */
  url: string;
  cleanup(): Promise<void>;
  /** s3 only: the bucket and s3rver's unauthenticated endpoint, for tampering with objects. */
  s3?: {
    bucket: string;
    rawEndpoint: string;
    endpoint: string;
    rejections: { method: string; code: string; status: number }[];
    forwarded: { method: string; path: string; params: string[] }[];
    /** Faults the verifying front injects (helpers/s3.ts). */
    faults: HarnessFaults;
  };
  /** fs only: the object directory and the URL signing secret (tamper with files there). */
  fs?: { dir: string; signingSecret: Uint8Array };
}

/** Options of {@link openTestBlobStore}. */
export interface TestBlobStoreOptions {
  /**
   * fs: the base URL of a server the caller runs and on which it registers
   * `store.routes`; when absent a minimal Fastify app serving them is started here.
   */
  publicUrl?: string;
  clock?: Clock;
  /** maxObjectSize (default 1 MiB). */
  maxSize?: number;
  /** s3: ListObjectsV2 page size, to exercise paging. */
  listPageSize?: number;
}

/**
 * Opens a fresh, empty store of `kind`.
 * @example
 * const { store, cleanup } = await openTestBlobStore('s3', { clock });
 * try { … } finally { await cleanup(); }
 */
export async function openTestBlobStore(
  kind: BlobStoreKind,
  opts: TestBlobStoreOptions = {},
): Promise<TestBlobStore> {
  const maxObjectSize = opts.maxSize ?? 1 << 20;
  const common = {
    maxObjectSize,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.listPageSize ? { listPageSize: opts.listPageSize } : {}),
  };
  if (kind === 's3') {
    const h = await startS3Harness(opts.clock ? { clock: opts.clock } : {});
    const store = await createBlobStore(h.storeUrl, {
      publicUrl: opts.publicUrl ?? 'http://127.0.0.1',
      ...common,
    });
    return {
      store,
      url: h.storeUrl,
      s3: {
        bucket: h.bucket,
        rawEndpoint: h.rawEndpoint,
        endpoint: h.endpoint,
        rejections: h.rejections,
        forwarded: h.forwarded,
        faults: h.faults,
      },
      cleanup: async () => {
        await store.close?.();
        await h.close();
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'noah-blob-'));
  const url = pathToFileURL(dir).href;
  const signingSecret = new Uint8Array(randomBytes(32));
  const fsInfo = { dir, signingSecret };
  if (opts.publicUrl) {
    const store = await createBlobStore(url, {
      publicUrl: opts.publicUrl,
      signingSecret,
      ...common,
    });
    return { store, url, fs: fsInfo, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  // Serve the URLs for real. The port is known only after listen, so one store (same
  // dir, secret, clock and limit — like a second server instance) serves the routes and
  // the returned one, created with the real address, signs the URLs.
  const serving = await createBlobStore(url, {
    publicUrl: 'http://127.0.0.1',
    signingSecret,
    ...common,
  });
  // Tests end with keep-alive sockets open; do not wait out their timeout on close.
  const app = Fastify({ forceCloseConnections: true });
  if (serving.routes) await app.register(serving.routes);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const publicUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const store = await createBlobStore(url, { publicUrl, signingSecret, ...common });
  return {
    store,
    url,
    fs: fsInfo,
    cleanup: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Replaces the stored bytes behind the store's back (bit rot, an operator's mistake). */
export async function alterObject(t: TestBlobStore, key: string, bytes: Uint8Array): Promise<void> {
  if (t.fs) {
    await writeFile(join(t.fs.dir, ...key.split('/')), bytes);
    return;
  }
  if (!t.s3) throw new Error('no backend');
  const prefix = new URL(t.url).pathname.replace(/^\/+/, '');
  const res = await fetch(`${t.s3.rawEndpoint}/${t.s3.bucket}/${prefix}${key}`, {
    method: 'PUT',
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  if (!res.ok) throw new Error(`s3rver: cannot alter ${key} (${res.status})`);
}
