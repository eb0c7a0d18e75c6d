/**
 * The `fs` BlobStore (docs/OPERATIONS.md "Configuration reference"): objects are files
 * under one directory, and the server serves its own HMAC-signed, expiring PUT/GET URLs
 * (`routes`, see fs-routes.ts) with the semantics of S3 pre-signed URLs. The embedded
 * default for one machine.
 *
 * Layout: key `a/b/c` is the file `<dir>/a/b/c`. Uploads land in a temp file
 * `.tmp-<ms>-<random>` beside the target, are fsynced and renamed into place; temp
 * names start with `.`, which no key can, so `list` never shows them. Temp files older
 * than an hour (by the injected clock) are removed by `list` and `sweepTemp()`.
 * An object's `lastModified` is the injected clock's time at upload (set as the mtime).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Dirent, type Stats, constants as fsc } from 'node:fs';
import { access, lstat, mkdir, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { systemClock } from '@noah-backup/core/clock';
import {
  type BlobInfo,
  type BlobStore,
  BlobStoreUnavailableError,
  type ObjectDigest,
  type PresignedGet,
  type PresignedPut,
} from '../stores/blob.ts';
import { signBlobUrl, MIN_SECRET_BYTES } from './fs-sign.ts';
import { type FsContext, fsBlobRoutes, TEMP_MAX_AGE_MS, TEMP_RE, tempName } from './fs-routes.ts';
import { ensurePrivateDir, freeBytesAt } from '../local-files.ts';
import {
  assertBlobKey,
  assertBlobPrefix,
  assertExpiresIn,
  assertObjectSize,
  assertSha256,
} from './keys.ts';
import { type BlobStoreCommonOptions, silentLogger } from './log.ts';

/** Options of {@link createFsBlobStore}. */
export interface FsBlobStoreOptions extends BlobStoreCommonOptions {
  /** Absolute directory holding the objects; created (mode 0700) if missing. */
  dir: string;
  /** The server's external base URL (`https://backup.example.com`); URLs are `<publicUrl>/blob/<key>?…`. */
  publicUrl: string;
  /**
   * HMAC key for the URLs, at least 32 bytes. Persist it (the data dir) so URLs survive a
   * restart and are valid on every instance; when absent a random one is generated.
   */
  signingSecret?: Uint8Array;
}

/** The fs store: a BlobStore whose URLs the server itself serves. */
export interface FsBlobStore extends BlobStore {
  readonly kind: 'fs';
  /** The absolute object directory. */
  readonly dir: string;
  /** Fastify plugin serving `PUT /blob/*` and `GET /blob/*`; the app must register it. */
  readonly routes: FastifyPluginAsync;
  /** Removes temp files older than an hour (abandoned uploads); returns how many. */
  sweepTemp(): Promise<number>;
}

const SEGMENT_RE = /^[a-z0-9_-]+$/;

function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unavailable(op: string, err: unknown): BlobStoreUnavailableError {
  const code = (err as { code?: string }).code ?? 'error';
  return new BlobStoreUnavailableError(`fs blob store: ${op} failed (${code})`, { cause: err });
}

function normalisePublicUrl(publicUrl: string): string {
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    throw new TypeError('publicUrl must be an absolute http(s) URL');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash || u.username)
    throw new TypeError('publicUrl must be an http(s) URL without query, fragment or credentials');
  return u.href.replace(/\/+$/, '');
}

/**
 * Opens the fs blob store.
 * @param opts - see {@link FsBlobStoreOptions}
 * @returns the store; register `store.routes` on the Fastify app so its URLs work
 * @throws TypeError for a relative dir or a bad publicUrl, RangeError for a short secret
 * @example
 * const store = await createFsBlobStore({ dir: '/var/lib/noah/blobs',
 *   publicUrl: 'https://backup.example.com', maxObjectSize: 50 << 20, signingSecret });
 * app.register(store.routes);
 */
export async function createFsBlobStore(opts: FsBlobStoreOptions): Promise<FsBlobStore> {
  if (typeof opts.dir !== 'string' || !isAbsolute(opts.dir))
    throw new TypeError('dir must be an absolute path');
  assertObjectSize('maxObjectSize', opts.maxObjectSize, Number.MAX_SAFE_INTEGER);
  const base = normalisePublicUrl(opts.publicUrl);
  const dir = resolve(opts.dir);
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  let secret = opts.signingSecret;
  const generated = secret === undefined;
  if (secret === undefined) {
    secret = new Uint8Array(randomBytes(32));
    logger.warn(
      { blobStore: 'fs' },
      'no blob signing secret given; URLs will not survive a restart',
    );
  } else if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `signingSecret must be a Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  // Owner only (docs/OPERATIONS.md "Running it"); an older version's open directory is
  // tightened, which also closes the objects below it to others.
  ensurePrivateDir(dir);

  const pathOf = (key: string): string => {
    const p = join(dir, ...key.split('/'));
    // Belt and braces: keys are validated, but never leave the directory.
    if (!p.startsWith(dir + sep)) throw new TypeError('key must stay inside the store');
    return p;
  };
  const ctx: FsContext = {
    dir,
    clock,
    secret,
    maxObjectSize: opts.maxObjectSize,
    logger,
    pathOf,
    inFlight: new Map(),
  };

  const isOldTemp = (name: string): boolean => {
    const m = TEMP_RE.exec(name);
    return m !== null && clock.now().getTime() - Number(m[1]) >= TEMP_MAX_AGE_MS;
  };

  const removeOldTemp = async (path: string): Promise<boolean> => {
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if (!isMissing(err))
        logger.warn(
          { blobStore: 'fs', code: (err as { code?: string }).code },
          'could not remove a stale temp file',
        );
      return false;
    }
  };

  // Depth-first walk in key order: a directory `a` sorts as `a/`, so `a-b` (0x2d) comes
  // before `a/x` (0x2f) exactly as S3 orders keys by their bytes. Memory: one directory
  // listing per level.
  async function* walk(
    abs: string,
    rel: string,
    prefix: string,
    swept: { n: number },
  ): AsyncGenerator<BlobInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw unavailable('list', err);
    }
    const named = entries.map((e) => ({ e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }));
    named.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { e } of named) {
      const path = join(abs, e.name);
      if (e.isFile() && isOldTemp(e.name)) {
        if (await removeOldTemp(path)) swept.n++;
        continue;
      }
      if (!SEGMENT_RE.test(e.name)) continue; // temp files and anything not ours
      const key = rel + e.name;
      if (e.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* walk(path, sub, prefix, swept);
      } else if (e.isFile() && key.startsWith(prefix)) {
        let st: Stats;
        try {
          st = await lstat(path);
        } catch (err) {
          if (isMissing(err)) continue; // deleted while we walked
          throw unavailable('list', err);
        }
        yield { key, size: st.size, lastModified: st.mtime };
      }
    }
  }

  const sweepTemp = async (): Promise<number> => {
    const swept = { n: 0 };
    // Walk everything; the objects themselves are not needed, only the sweeping.
    for await (const _ of walk(dir, '', '', swept));
    if (swept.n > 0)
      logger.info({ blobStore: 'fs', removed: swept.n }, 'removed abandoned temp files');
    return swept.n;
  };

  const presignPut = async (
    key: string,
    o: { size: number; expiresInSec: number; sha256?: string },
  ): Promise<PresignedPut> => {
    assertBlobKey('key', key);
    assertObjectSize('size', o?.size, ctx.maxObjectSize);
    assertExpiresIn('expiresInSec', o.expiresInSec);
    assertSha256('sha256', o.sha256);
    const exp = Math.floor(clock.now().getTime() / 1000) + o.expiresInSec;
    const claims = { method: 'PUT' as const, key, exp, size: o.size, sha256: o.sha256 };
    const sig = signBlobUrl(secret, claims);
    const sum = o.sha256 === undefined ? '' : `&sha256=${o.sha256}`;
    return {
      url: `${base}/blob/${key}?exp=${exp}&size=${o.size}${sum}&sig=${sig}`,
      headers: {},
      expiresAt: new Date(exp * 1000),
    };
  };

  const presignGet = async (key: string, o: { expiresInSec: number }): Promise<PresignedGet> => {
    assertBlobKey('key', key);
    assertExpiresIn('expiresInSec', o?.expiresInSec);
    const exp = Math.floor(clock.now().getTime() / 1000) + o.expiresInSec;
    const sig = signBlobUrl(secret, { method: 'GET', key, exp });
    return { url: `${base}/blob/${key}?exp=${exp}&sig=${sig}`, expiresAt: new Date(exp * 1000) };
  };

  const head = async (key: string): Promise<BlobInfo | null> => {
    assertBlobKey('key', key);
    try {
      const st = await lstat(pathOf(key));
      return st.isFile() ? { key, size: st.size, lastModified: st.mtime } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable('head', err);
    }
  };

  const digest = async (key: string): Promise<ObjectDigest | null> => {
    assertBlobKey('key', key);
    const hash = createHash('sha256');
    let size = 0;
    try {
      // O_NOFOLLOW: an object is a regular file; never read through a planted link.
      const fh = await open(pathOf(key), fsc.O_RDONLY | fsc.O_NOFOLLOW);
      for await (const chunk of fh.createReadStream({ highWaterMark: 256 * 1024 })) {
        size += chunk.length;
        hash.update(chunk);
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (isMissing(err) || code === 'ELOOP' || code === 'EISDIR') return null;
      throw unavailable('digest', err);
    }
    return { size, sha256: hash.digest('hex') };
  };

  const del = async (key: string): Promise<void> => {
    assertBlobKey('key', key);
    const path = pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      // A directory is not an object: nothing to delete either.
      if (isMissing(err) || (err as { code?: string }).code === 'EISDIR') return;
      throw unavailable('delete', err);
    }
    // Remove now-empty parent directories; a concurrent upload recreates what it needs.
    let parts = key.split('/').slice(0, -1);
    while (parts.length > 0) {
      try {
        await rmdir(join(dir, ...parts));
      } catch {
        break;
      }
      parts = parts.slice(0, -1);
    }
  };

  // An empty file renamed over the key (atomic): the name stays taken, so a PUT's final
  // link() fails with EEXIST; then the PUT in progress, if any, is aborted.
  const retire = async (key: string): Promise<void> => {
    assertBlobKey('key', key);
    const path = pathOf(key);
    const tmp = join(dirname(path), tempName(clock.now()));
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      await fh.sync();
      await fh.close();
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw unavailable('retire', err);
    }
    ctx.inFlight.get(key)?.();
  };

  const list = (prefix: string): AsyncIterable<BlobInfo> => {
    assertBlobPrefix('prefix', prefix);
    return walk(dir, '', prefix, { n: 0 });
  };

  const ping = async (): Promise<void> => {
    try {
      await access(dir, fsc.R_OK | fsc.W_OK | fsc.X_OK);
    } catch (err) {
      throw unavailable('ping', err);
    }
  };

  return {
    kind: 'fs',
    dir,
    routes: fsBlobRoutes(ctx),
    presignPut,
    presignGet,
    head,
    digest,
    // A local read: the disk the PUT was checked on is the one answering.
    checksum: async (key) => (await digest(key))?.sha256 ?? null,
    delete: del,
    retire,
    list,
    ping,
    freeBytes: () => freeBytesAt(dir),
    sweepTemp,
    // A generated secret is ours to wipe; a given one belongs to the caller.
    close: async () => {
      if (generated) secret.fill(0);
    },
  };
}
