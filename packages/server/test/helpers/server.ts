/**
 * Test harness: the real server (buildServer) on a loopback port 0, over real stores of
 * the requested kinds (SQLite/libSQL temp files or a fresh PostgreSQL database; the fs
 * store in a temp dir or s3rver behind the SigV4-checking front), a manual clock, and
 * the JSON log lines captured in memory.
 *
 * The HTTP server listens before the stores open, so the fs store's signed URLs can
 * name the real port; buildServer attaches to it.
 * @module
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerDeps } from '../../src/app.ts';
import { type ServerConfig, loadConfig } from '../../src/config.ts';
import { createHttpServer } from '../../src/http/limits.ts';
import { createLogger } from '../../src/logging.ts';
import type { BlobStore } from '../../src/stores/blob.ts';
import type { MetadataStore } from '../../src/stores/metadata.ts';
import { type BlobStoreKind, type TestBlobStore, openTestBlobStore } from './blob.ts';
import { type MetadataStoreKind, openTestMetadataStore } from './metadata.ts';

/** The clock tests drive. */
export type TestClock = ReturnType<typeof manualClock>;

/** Options of {@link startTestServer}. */
export interface StartTestServerOptions {
  metadataKind: MetadataStoreKind;
  blobKind: BlobStoreKind;
  /** Default: a manual clock at the real current time (S3 request signing uses real time). */
  clock?: TestClock;
  /** Overrides of the test configuration. */
  config?: Partial<ServerConfig>;
  /** Serve the web app (default: off). */
  webUi?: ServerDeps['webUi'];
}

/** A running test server. */
export interface TestServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  app: FastifyInstance;
  metadata: MetadataStore;
  /** The metadata store's DATABASE_URL (open a second instance on it). */
  metadataUrl: string;
  blobs: BlobStore;
  /** The blob store's test handle (fs dir, or the s3rver endpoints). */
  blob: TestBlobStore;
  clock: TestClock;
  config: ServerConfig;
  /** Every JSON log line written so far. */
  logs: string[];
  close(): Promise<void>;
}

/** The test defaults: small limits, no sweeper timer, generous rate limits. */
export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    ...loadConfig({ LOG_LEVEL: 'debug' }),
    maxBackupSize: 64 * 1024,
    sweepIntervalSec: 0,
    rateLimit: {
      authPerMinute: 10_000,
      userPerMinute: 10_000,
      blobPerMinute: 10_000,
      badTokenPerMinute: 10_000,
    },
    maxPendingUploads: 4,
    // The test machine's /tmp may have little room; the disk-full tests set their own.
    minFreeSpace: 1024 * 1024,
    ...overrides,
  };
}

/**
 * Starts the real server over fresh stores of the given kinds.
 *
 * @example
 * const srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
 * try { … } finally { await srv.close(); }
 */
export async function startTestServer(opts: StartTestServerOptions): Promise<TestServer> {
  const clock = opts.clock ?? manualClock(new Date());
  const configured = testConfig(opts.config);
  // The server the app would make itself (timeouts and connection caps in place).
  const http = createHttpServer(configured.http, { perAddress: configured.trustProxy === false });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  // A data directory of its own: keys the server keeps there (VAPID) stay in the test.
  const dataDir = opts.config?.dataDir ?? (await mkdtemp(join(tmpdir(), 'noah-srv-data-')));
  const config = { ...configured, dataDir, publicUrl: opts.config?.publicUrl ?? url };
  const logs: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    destination: { write: (line: string) => void logs.push(line) },
  });
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      if (opts.config?.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
    () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  ];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const meta = await openTestMetadataStore(opts.metadataKind);
    cleanups.push(meta.cleanup);
    const blob = await openTestBlobStore(opts.blobKind, {
      publicUrl: url,
      clock,
      maxSize: config.maxBackupSize,
    });
    cleanups.push(blob.cleanup);
    const app = await buildServer({
      config,
      metadata: meta.store,
      blobs: blob.store,
      clock,
      logger,
      httpServer: http,
      webUi: opts.webUi ?? false,
    });
    cleanups.push(() => app.close());
    return {
      url,
      app,
      metadata: meta.store,
      metadataUrl: meta.url,
      blobs: blob.store,
      blob,
      clock,
      config,
      logs,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The combinations the full suite runs on: the embedded defaults, and the scaled-out stack. */
export const fullCombos: readonly { metadataKind: MetadataStoreKind; blobKind: BlobStoreKind }[] = [
  { metadataKind: 'sqlite', blobKind: 'fs' },
  { metadataKind: 'postgres', blobKind: 's3' },
];

/** The cross combinations a smoke test covers. */
export const smokeCombos: readonly { metadataKind: MetadataStoreKind; blobKind: BlobStoreKind }[] =
  [
    { metadataKind: 'sqlite', blobKind: 's3' },
    { metadataKind: 'postgres', blobKind: 'fs' },
    { metadataKind: 'libsql', blobKind: 'fs' },
  ];

/**
 * Writes an object straight into the blob store, past the server and its signed URLs
 * (fs: the file; s3: s3rver's unauthenticated endpoint): to fake a wrong-size upload.
 */
export async function putRawObject(srv: TestServer, key: string, bytes: Uint8Array): Promise<void> {
  if (srv.blob.fs) {
    const path = join(srv.blob.fs.dir, ...key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    return;
  }
  const s3 = srv.blob.s3!;
  const res = await fetch(`${s3.rawEndpoint}/${s3.bucket}/${key}`, {
    method: 'PUT',
    body: Buffer.from(bytes),
  });
  if (!res.ok) throw new Error(`raw PUT failed: ${res.status}`);
}

/**
 * A second server instance on the same stores (as N instances share a database and a
 * bucket), with other configuration or another blob store; not listening, call it with
 * `app.inject`. The caller closes it.
 */
export async function buildPeer(
  srv: TestServer,
  opts: { config?: Partial<ServerConfig>; blobs?: BlobStore; metadata?: MetadataStore } = {},
): Promise<FastifyInstance> {
  return buildServer({
    config: { ...srv.config, ...opts.config },
    metadata: opts.metadata ?? srv.metadata,
    blobs: opts.blobs ?? srv.blobs,
    clock: srv.clock,
    logger: createLogger({ level: 'silent' }),
    webUi: false,
  });
}

/** Calls `/v0/backup/<name>` on an un-listened app with a bearer token. */
export function injectApi(app: FastifyInstance, token: string) {
  return async <T = unknown>(name: string, body?: unknown, method: 'GET' | 'POST' = 'POST') => {
    const r = await app.inject({
      method,
      url: `/v0/backup/${name}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: r.statusCode, body: r.json() as T };
  };
}
