/**
 * Opens the BlobStore a URL names (docs/OPERATIONS.md "Configuration reference": the
 * backend is chosen by a URL):
 *
 * - `file:///var/lib/noah/blobs` or a bare path (`/var/lib/noah/blobs`, `./data/blobs`)
 *   → the fs store; the server serves its URLs (register `store.routes`).
 * - `s3://bucket[/prefix]?region=…&endpoint=http://host:port&forcePathStyle=true&sse=AES256`
 *   → the S3 store. Parameters: `region` (default `opts.defaultRegion`, which the
 *   server sets from AWS_REGION or AWS_DEFAULT_REGION, else us-east-1; "auto" for R2), `endpoint` (S3-compatible services), `forcePathStyle`
 *   (`true` for MinIO and test servers), `sse` (`AES256`: SSE-S3 on every upload).
 *   Credentials: `opts.credentials`, else `s3://KEY_ID:SECRET@bucket/…` (URL-encoded;
 *   prefer the environment), else the AWS SDK default chain (`AWS_ACCESS_KEY_ID` /
 *   `AWS_SECRET_ACCESS_KEY`, shared config files, instance roles…).
 *
 * Errors for bad URLs are TypeErrors that quote the URL with credentials redacted.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../stores/blob.ts';
import { createFsBlobStore, type FsBlobStoreOptions } from './fs.ts';
import type { BlobStoreCommonOptions } from './log.ts';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3.ts';

export type { BlobLogger } from './log.ts';
export type { FsBlobStore } from './fs.ts';
export type { S3BlobStore, S3Credentials } from './s3.ts';

/** Options of {@link createBlobStore}. */
export interface CreateBlobStoreOptions
  extends BlobStoreCommonOptions,
    Pick<FsBlobStoreOptions, 'publicUrl'>,
    Pick<S3BlobStoreOptions, 'credentials' | 'listPageSize'> {
  /**
   * HMAC key (≥ 32 bytes) for the fs store's URLs, or a function that returns it, called
   * only when the URL names the fs store (the server passes one that keeps the key in its
   * data directory: blob/signing-key.ts).
   */
  signingSecret?: Uint8Array | (() => Uint8Array);
  /** The S3 region when the URL has no `region` parameter (default us-east-1). */
  defaultRegion?: string;
}

const S3_PARAMS = new Set(['region', 'endpoint', 'forcePathStyle', 'sse']);
const PREFIX_RE = /^[A-Za-z0-9!_.*'()/-]*$/;

/**
 * The URL with any `user:password@` replaced by `***@`, for error messages and logs.
 * @example redactUrl('s3://AKIA:s3cr3t@bucket/p') // 's3://***@bucket/p'
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
}

function bad(url: string, why: string): TypeError {
  return new TypeError(`invalid blob store URL "${redactUrl(url)}": ${why}`);
}

/**
 * Reads an `s3://` blob store URL (see the module doc) into the S3 store's options.
 * @throws TypeError for a malformed URL (credentials redacted)
 */
export function s3Options(
  url: string,
  opts: Pick<CreateBlobStoreOptions, 'credentials' | 'defaultRegion'> = {},
) {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(url, 'not a URL');
  }
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw bad(url, 'missing or invalid bucket name');
  if (u.port) throw bad(url, 'a bucket has no port; use ?endpoint=http://host:port');
  let prefix = decodeURIComponent(u.pathname).replace(/^\/+/, '');
  if (!PREFIX_RE.test(prefix) || prefix.includes('//')) throw bad(url, 'invalid key prefix');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  for (const name of u.searchParams.keys())
    if (!S3_PARAMS.has(name))
      throw bad(url, `unknown parameter "${name}" (allowed: ${[...S3_PARAMS].join(', ')})`);
  const p = u.searchParams;
  const endpoint = p.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let e: URL | undefined;
    try {
      e = new URL(endpoint);
    } catch {}
    if (!e || (e.protocol !== 'http:' && e.protocol !== 'https:'))
      throw bad(url, 'endpoint must be an http(s) URL');
  }
  const fps = p.get('forcePathStyle');
  if (fps !== null && fps !== 'true' && fps !== 'false')
    throw bad(url, 'forcePathStyle must be true or false');
  const sse = p.get('sse');
  if (sse !== null && sse !== 'AES256') throw bad(url, 'sse must be AES256');
  let credentials = opts.credentials;
  if (!credentials && (u.username || u.password)) {
    if (!u.username || !u.password) throw bad(url, 'credentials need both a key id and a secret');
    credentials = {
      accessKeyId: decodeURIComponent(u.username),
      secretAccessKey: decodeURIComponent(u.password),
    };
  }
  return {
    bucket,
    prefix,
    region: p.get('region') ?? opts.defaultRegion ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: fps === 'true',
    ...(sse ? { sse: 'AES256' as const } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/**
 * Opens the blob store named by `url` (see the module doc for the URL forms).
 * @param url - `file:///abs/dir`, a bare path, or `s3://bucket[/prefix]?…`
 * @param opts - see {@link CreateBlobStoreOptions}
 * @returns the store; when `store.routes` is set, register it on the Fastify app
 * @throws TypeError for an unsupported or malformed URL (credentials redacted)
 * @example
 * const store = await createBlobStore(process.env.BLOB_STORE_URL ?? './data/blobs', {
 *   publicUrl: 'https://backup.example.com', maxObjectSize: 50 << 20, signingSecret });
 * if (store.routes) app.register(store.routes);
 */
export async function createBlobStore(
  url: string,
  opts: CreateBlobStoreOptions,
): Promise<BlobStore> {
  if (typeof url !== 'string' || url === '')
    throw new TypeError('blob store URL must be a non-empty string');
  const common = {
    maxObjectSize: opts.maxObjectSize,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  if (url.startsWith('s3://')) {
    return createS3BlobStore({
      ...s3Options(url, opts),
      ...common,
      ...(opts.listPageSize ? { listPageSize: opts.listPageSize } : {}),
    });
  }
  let dir: string;
  if (url.startsWith('file:')) {
    try {
      dir = fileURLToPath(url);
    } catch {
      throw bad(url, 'a file URL must be file:///absolute/path');
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw bad(url, 'unsupported scheme (use file:///dir, a path, or s3://bucket)');
  } else {
    dir = isAbsolute(url) ? url : resolve(url);
  }
  return createFsBlobStore({
    dir,
    publicUrl: opts.publicUrl,
    ...common,
    ...(opts.signingSecret
      ? {
          signingSecret:
            typeof opts.signingSecret === 'function' ? opts.signingSecret() : opts.signingSecret,
        }
      : {}),
  });
}
