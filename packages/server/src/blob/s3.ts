/**
 * The `s3` BlobStore (docs/OPERATIONS.md "The bucket"): any S3-compatible service (AWS
 * S3, Cloudflare R2, MinIO…) through @aws-sdk/client-s3. Clients PUT and GET the objects
 * directly with AWS SigV4 pre-signed URLs; the server only signs, checks and deletes.
 *
 * - Checksums: `requestChecksumCalculation` and `responseChecksumValidation` are
 *   `WHEN_REQUIRED`; otherwise a pre-signed PUT URL carries the checksum of an empty body,
 *   which S3 then rejects for the real one.
 * - The PUT URL signs `content-length` (AWS SigV4 SignedHeaders), so S3 itself refuses a
 *   body of any other size.
 * - Write-once: the PUT URL also signs `If-None-Match: *` (S3 conditional writes), a
 *   header the client must send (`PresignedPut.headers`), so a second PUT with the same
 *   URL — even a replay before it expires — gets 412 PreconditionFailed instead of
 *   replacing the object (the fs store answers 409 `conflict`). Services that ignore
 *   the condition lose this protection; docs/OPERATIONS.md lists them.
 * - Checksums (docs/API.md "Checksums"): a PUT URL for a given SHA-256 signs
 *   `x-amz-checksum-sha256` (base64 of the digest) as a header the client must send, so
 *   S3 refuses another body with 400 BadDigest; `checksum` reads it back with a HEAD
 *   (ChecksumMode ENABLED), `digest` streams the object through SHA-256.
 * - Server-side encryption: `sse: 'AES256'` adds `x-amz-server-side-encryption: AES256`
 *   to every PUT URL as a signed header the client must send (`PresignedPut.headers`).
 * - Retiring a key (`retire`) overwrites its object with an empty one: S3 frees the
 *   bytes and the key still refuses a PUT with `If-None-Match: *`. On a versioned bucket
 *   an overwrite keeps the old version: see docs/OPERATIONS.md "Storage bounds".
 * - Errors are normalised: not found → `null` (head) or success (delete); anything else
 *   → `BlobStoreUnavailableError` naming the operation and S3 error code, never a URL.
 * - `lastModified` is the S3 service's time, not the injected clock's.
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { systemClock } from '@noah-backup/core/clock';
import {
  type BlobInfo,
  type BlobStore,
  BlobStoreFullError,
  BlobStoreUnavailableError,
  type ObjectDigest,
  type PresignedGet,
  type PresignedPut,
} from '../stores/blob.ts';
import {
  assertBlobKey,
  assertBlobPrefix,
  assertExpiresIn,
  assertObjectSize,
  assertSha256,
} from './keys.ts';
import type { BlobStoreCommonOptions } from './log.ts';

/** Static S3 credentials; when absent, the AWS SDK default credential chain is used. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link createS3BlobStore}. */
export interface S3BlobStoreOptions extends BlobStoreCommonOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"); the store's keys are relative to it. */
  prefix?: string;
  /** Signing region ("us-east-1" for MinIO, "auto" for R2). */
  region: string;
  /** Custom endpoint for S3-compatible services, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`), needed by MinIO and most test servers. */
  forcePathStyle?: boolean;
  /** Server-side encryption for uploads: "AES256" (SSE-S3). */
  sse?: 'AES256';
  /** Explicit credentials (tests, or a secrets manager); else the AWS SDK's default chain. */
  credentials?: S3Credentials;
  /** ListObjectsV2 MaxKeys per page (1..1000, default 1000); small values are for tests. */
  listPageSize?: number;
}

/** The S3 store, with its location for logs. */
export interface S3BlobStore extends BlobStore {
  readonly kind: 's3';
  readonly bucket: string;
  readonly prefix: string;
}

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/**
 * Any SDK failure as BlobStoreUnavailableError (BlobStoreFullError for a full service):
 * operation, S3 error code, HTTP status and S3 request id. The SDK error is not attached as `cause`: loggers serialise causes, and
 * SDK errors can carry request and response details.
 */
export function s3Failure(
  op: string,
  err: unknown,
): BlobStoreUnavailableError | BlobStoreFullError {
  const e = err as SdkError;
  const what = e.code ?? e.name ?? 'error';
  const status = e.$metadata?.httpStatusCode;
  const id = e.$metadata?.requestId;
  const details = [what, status ? `HTTP ${status}` : '', id ? `request id ${id}` : ''];
  const message = `s3 blob store: ${op} failed (${details.filter(Boolean).join(', ')})`;
  // S3-compatible services that run on disks answer 507 when they are full (MinIO:
  // XMinioStorageFull; RFC 4918 InsufficientStorage).
  if (status === 507 || what === 'XMinioStorageFull' || what === 'InsufficientStorage')
    return new BlobStoreFullError(message);
  return new BlobStoreUnavailableError(message);
}

/**
 * Opens an S3 (or S3-compatible) blob store. Makes no request; use `ping()` to check.
 * @param opts - see {@link S3BlobStoreOptions}
 * @throws TypeError / RangeError for invalid options
 * @example
 * const store = await createS3BlobStore({ bucket: 'noah', prefix: 'prod/', region: 'auto',
 *   endpoint: 'https://<account>.r2.cloudflarestorage.com', maxObjectSize: 50 << 20 });
 */
export async function createS3BlobStore(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
  if (typeof opts.bucket !== 'string' || opts.bucket === '')
    throw new TypeError('bucket must be a non-empty string');
  if (typeof opts.region !== 'string' || opts.region === '')
    throw new TypeError('region must be a non-empty string');
  const prefix = opts.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.endsWith('/')))
    throw new TypeError('prefix must be "" or end with "/"');
  assertObjectSize('maxObjectSize', opts.maxObjectSize, Number.MAX_SAFE_INTEGER);
  const pageSize = opts.listPageSize ?? 1000;
  assertObjectSize('listPageSize', pageSize, 1000);
  if (pageSize < 1) throw new RangeError('listPageSize must be in [1, 1000]');
  if (opts.sse !== undefined && opts.sse !== 'AES256') throw new TypeError('sse must be "AES256"');
  const { bucket, sse, maxObjectSize } = opts;
  const clock = opts.clock ?? systemClock;

  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle ?? false,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });

  // AWS SigV4: X-Amz-Date has whole seconds; the URL expires X-Amz-Expires after it.
  const signing = (expiresInSec: number): { signingDate: Date; expiresAt: Date } => {
    const ms = Math.floor(clock.now().getTime() / 1000) * 1000;
    return { signingDate: new Date(ms), expiresAt: new Date(ms + expiresInSec * 1000) };
  };

  const presignPut = async (
    key: string,
    o: { size: number; expiresInSec: number; sha256?: string },
  ): Promise<PresignedPut> => {
    assertBlobKey('key', key);
    assertObjectSize('size', o?.size, maxObjectSize);
    assertExpiresIn('expiresInSec', o.expiresInSec);
    assertSha256('sha256', o.sha256);
    const { signingDate, expiresAt } = signing(o.expiresInSec);
    const checksum =
      o.sha256 === undefined ? undefined : Buffer.from(o.sha256, 'hex').toString('base64');
    const cmd = new PutObjectCommand({
      Bucket: bucket,
      Key: prefix + key,
      ContentLength: o.size,
      IfNoneMatch: '*',
      ...(checksum ? { ChecksumSHA256: checksum } : {}),
      ...(sse ? { ServerSideEncryption: sse } : {}),
    });
    const url = await getSignedUrl(client, cmd, {
      expiresIn: o.expiresInSec,
      signingDate,
      // AWS SigV4: keep Content-Length a signed header so S3 enforces the size.
      signableHeaders: new Set(['content-length']),
      // A header, not a query parameter: S3 checks the body against the header.
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    });
    const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
    const must = [
      'content-length',
      'if-none-match',
      ...(checksum ? ['x-amz-checksum-sha256'] : []),
    ];
    for (const h of must)
      if (!signed.includes(h)) throw new Error(`s3 blob store: the presigner did not sign ${h}`);
    const headers: Record<string, string> = { 'if-none-match': '*' };
    if (checksum) headers['x-amz-checksum-sha256'] = checksum;
    if (sse) headers['x-amz-server-side-encryption'] = sse;
    return { url, headers, expiresAt };
  };

  const presignGet = async (key: string, o: { expiresInSec: number }): Promise<PresignedGet> => {
    assertBlobKey('key', key);
    assertExpiresIn('expiresInSec', o?.expiresInSec);
    const { signingDate, expiresAt } = signing(o.expiresInSec);
    const cmd = new GetObjectCommand({ Bucket: bucket, Key: prefix + key });
    const url = await getSignedUrl(client, cmd, { expiresIn: o.expiresInSec, signingDate });
    return { url, expiresAt };
  };

  const head = async (key: string): Promise<BlobInfo | null> => {
    assertBlobKey('key', key);
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix + key }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Failure('head', err);
    }
  };

  const digest = async (key: string): Promise<ObjectDigest | null> => {
    assertBlobKey('key', key);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
      for await (const chunk of out.Body as Readable) {
        size += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
      }
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Failure('digest', err);
    }
    return { size, sha256: hash.digest('hex') };
  };

  const checksum = async (key: string): Promise<string | null> => {
    assertBlobKey('key', key);
    try {
      const out = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: prefix + key, ChecksumMode: 'ENABLED' }),
      );
      // A multipart upload's checksum is of its parts ("…-N"), not of the object.
      const b64 = out.ChecksumSHA256;
      if (!b64 || b64.includes('-')) return null;
      return Buffer.from(b64, 'base64').toString('hex');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Failure('head', err);
    }
  };

  const del = async (key: string): Promise<void> => {
    assertBlobKey('key', key);
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw s3Failure('delete', err);
    }
  };

  // An unconditional, empty PUT: the key stays taken, so the client's If-None-Match PUT
  // with an old URL gets 412 (docs/OPERATIONS.md "Storage bounds").
  const retire = async (key: string): Promise<void> => {
    assertBlobKey('key', key);
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: prefix + key,
          Body: new Uint8Array(0),
          ContentLength: 0,
          ...(sse ? { ServerSideEncryption: sse } : {}),
        }),
      );
    } catch (err) {
      throw s3Failure('retire', err);
    }
  };

  async function* pages(listPrefix: string): AsyncGenerator<BlobInfo> {
    let token: string | undefined;
    do {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix + listPrefix,
            MaxKeys: pageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw s3Failure('list', err);
      }
      for (const c of out.Contents ?? []) {
        const key = c.Key?.slice(prefix.length);
        try {
          assertBlobKey('key', key);
        } catch {
          continue; // not one of ours (a shared bucket); never hand callers an invalid key
        }
        yield { key, size: c.Size ?? 0, lastModified: c.LastModified ?? new Date(0) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  const list = (listPrefix: string): AsyncIterable<BlobInfo> => {
    assertBlobPrefix('prefix', listPrefix);
    return pages(listPrefix);
  };

  const ping = async (): Promise<void> => {
    try {
      await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
    } catch (err) {
      throw s3Failure('ping', err);
    }
  };

  return {
    kind: 's3',
    bucket,
    prefix,
    presignPut,
    presignGet,
    head,
    digest,
    checksum,
    delete: del,
    retire,
    list,
    ping,
    close: async () => client.destroy(),
  };
}
