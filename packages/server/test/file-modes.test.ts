/**
 * Who can read the server's files (docs/OPERATIONS.md "Running it"): the metadata
 * database holds push tokens and session hashes, so it and its WAL and SHM are 0600 like
 * the signing key, the data directory and the fs blob store's directories 0700, stored
 * objects 0600 — on a fresh install, and on an existing one after a start (modes are
 * tightened). The server as `noah-backup serve` starts it, under the usual umask 022.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupInfo, UploadUrlResponse } from '@noah-backup/core/api';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logging.ts';
import { createMetadataStore } from '../src/metadata/index.ts';
import { startServer } from '../src/start.ts';
import { backupApi, login, newKey, putBytes } from './helpers/client.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function start(dataDir: string) {
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    DATA_DIR: dataDir,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SWEEP_INTERVAL: '0',
  });
  const server = await startServer(config, { logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function expectPrivate(dataDir: string) {
  expect(await mode(dataDir)).toBe(0o700);
  for (const f of ['noah.db', 'noah.db-wal', 'noah.db-shm', 'blob-signing.key'])
    expect(await mode(join(dataDir, f)), f).toBe(0o600);
  expect(await mode(join(dataDir, 'blobs'))).toBe(0o700);
}

/** One backup through the API; returns its object's path. */
async function oneBackup(url: string, dataDir: string): Promise<string> {
  const api = backupApi(url, await login(url, newKey()));
  const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 100 })).body;
  expect((await putBytes(up.upload_url, new Uint8Array(randomBytes(100)))).status).toBe(200);
  const done = await api<BackupInfo>('complete_upload', {
    s3_key: up.s3_key,
    backup_version: up.backup_version,
    backup_size: 100,
  });
  expect(done.status).toBe(200);
  return join(dataDir, 'blobs', ...up.s3_key.split('/'));
}

it('a fresh install keeps its files to the owner', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'noah-modes-'));
  cleanups.push(() => rm(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data');
  const server = await start(dataDir);
  const object = await oneBackup(server.url, dataDir);
  await expectPrivate(dataDir);
  expect(await mode(join(object, '..'))).toBe(0o700);
  expect(await mode(object)).toBe(0o600);
});

it('an existing install has its modes tightened at start', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'noah-modes-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  // As an older version left it: everything readable by all.
  const db = new Database(join(dataDir, 'noah.db'));
  db.pragma('journal_mode = WAL');
  db.exec('create table t (x); insert into t values (1)');
  await writeFile(join(dataDir, 'blob-signing.key'), `${randomBytes(32).toString('hex')}\n`);
  await mkdir(join(dataDir, 'blobs'));
  for (const f of ['noah.db', 'noah.db-wal', 'noah.db-shm', 'blob-signing.key'])
    await chmod(join(dataDir, f), 0o644);
  await chmod(join(dataDir, 'blobs'), 0o755);
  await chmod(dataDir, 0o755);
  db.close();
  await writeFile(join(dataDir, 'noah.db-wal'), '');
  await writeFile(join(dataDir, 'noah.db-shm'), '');
  await chmod(join(dataDir, 'noah.db-wal'), 0o644);
  await chmod(join(dataDir, 'noah.db-shm'), 0o644);

  const server = await start(dataDir);
  await oneBackup(server.url, dataDir);
  await expectPrivate(dataDir);
});

it.each(['sqlite', 'file'])(
  'a %s: DATABASE_URL outside DATA_DIR is private too',
  async (scheme) => {
    const parent = await mkdtemp(join(tmpdir(), 'noah-modes-'));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const file = join(parent, 'meta', 'noah.db');
    const store = await createMetadataStore(`${scheme}:${file}`);
    cleanups.push(() => store.close());
    await store.upsertUser(`02${'ab'.repeat(32)}`, new Date());
    expect(await mode(join(parent, 'meta'))).toBe(0o700);
    for (const f of [file, `${file}-wal`]) expect(await mode(f), f).toBe(0o600);
  },
);
