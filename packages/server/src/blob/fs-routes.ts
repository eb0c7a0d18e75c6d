/**
 * HTTP side of the fs BlobStore: `PUT /blob/<key>?exp=&size=&sig=` and
 * `GET /blob/<key>?exp=&sig=`, with the semantics of S3 pre-signed URLs (AWS SigV4
 * query authentication): a bad signature or changed key is 403 `signature_invalid`, an
 * expired URL 403 `url_expired`; a PUT must carry the signed Content-Length (missing →
 * 411, different → 400 `size_mismatch`, above the limit → 413 `payload_too_large`, as
 * S3 answers MissingContentLength / a signature error / EntityTooLarge). A URL signed
 * with a `sha256` takes only a body with that SHA-256 (400 `checksum_mismatch`, as S3
 * answers BadDigest for a wrong `x-amz-checksum-sha256`), hashed as it streams in.
 *
 * A PUT streams into a temp file beside the target, counting bytes; only a body of
 * exactly the signed size is fsynced and linked into place (then the directory is
 * fsynced), so a client dying mid-upload leaves no object. Objects are write-once: a PUT
 * to a key that already has an object is refused with 409 `conflict`, before the body is
 * read and again atomically when the file is linked (`link` fails if the name exists),
 * so a reused upload URL can never replace an object — the S3 store gets the same
 * behaviour from a signed `If-None-Match: *` (412 there). One PUT per key at a time: a
 * second while one is in progress is refused with 409 `conflict` too. Errors are JSON
 * `{code, message, request_id}`; a full disk is 507 `storage_full` with `Retry-After`.
 * The query string (the signature) never reaches the logs: these routes log the path
 * only.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { STORAGE_FULL_RETRY_AFTER_SEC } from '../errors.ts';
import type { BlobLogger } from './log.ts';
import { type BlobUrlClaims, verifyBlobUrl } from './fs-sign.ts';
import { assertBlobKey } from './keys.ts';

/** Everything the routes need from a store; internal to the fs backend. */
export interface FsContext {
  dir: string;
  clock: Clock;
  secret: Uint8Array;
  maxObjectSize: number;
  logger: BlobLogger;
  /** Absolute path of a (valid) key. */
  pathOf(key: string): string;
  /**
   * PUTs in progress in this process, by key, each with the function that aborts it:
   * one at a time per key, so concurrent PUTs to one URL cannot hold a temp file each,
   * and `retire` can stop the one in progress.
   */
  inFlight: Map<string, () => void>;
}

/** Temp files older than this are abandoned uploads. */
export const TEMP_MAX_AGE_MS = 3600_000;
/** Temp file names: `.tmp-<clock ms>-<random hex>`. */
export const TEMP_RE = /^\.tmp-(\d+)-[0-9a-f]+$/;

/** A fresh temp file name stamped with the clock's time (for the age check). */
export function tempName(now: Date): string {
  return `.tmp-${now.getTime()}-${randomBytes(8).toString('hex')}`;
}

const DIGITS = /^\d{1,15}$/;

interface Failure {
  status: number;
  code: ErrorCode;
  message: string;
}

/** Read size of a download (Node's default 64 KiB made the loopback download of a
 * 50 MB backup take ~1.5x as long). */
const READ_CHUNK = 256 * 1024;

const fail = (status: number, code: ErrorCode, message: string): Failure => ({
  status,
  code,
  message,
});

/** Log the method and path only: the query string carries the signature. */
const logSerializers = {
  req: (req: FastifyRequest) => ({
    method: req.method,
    url: req.url.split('?', 1)[0],
    remoteAddress: req.ip,
  }),
};

function send(
  reply: FastifyReply,
  request: FastifyRequest,
  f: Failure,
  close: boolean,
): FastifyReply {
  // Closing the connection spares reading an upload we refuse.
  if (close) reply.header('connection', 'close');
  return reply.code(f.status).send({ code: f.code, message: f.message, request_id: request.id });
}

/** Checks key, signature and expiry of a request; the claims when valid. */
function authorize(
  ctx: FsContext,
  method: 'GET' | 'PUT',
  request: FastifyRequest,
): BlobUrlClaims | Failure {
  const invalid = fail(403, 'signature_invalid', 'the URL signature is invalid');
  const key = (request.params as Record<string, unknown>)['*'];
  const q = request.query as Record<string, unknown>;
  try {
    assertBlobKey('key', key);
  } catch {
    return invalid; // no URL we issue names such a key
  }
  const { exp, sig, size, sha256 } = q;
  if (typeof exp !== 'string' || !DIGITS.test(exp) || typeof sig !== 'string') return invalid;
  const claims: BlobUrlClaims = { method, key, exp: Number(exp) };
  if (method === 'PUT') {
    if (typeof size !== 'string' || !DIGITS.test(size)) return invalid;
    claims.size = Number(size);
    if (sha256 !== undefined) {
      if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) return invalid;
      claims.sha256 = sha256;
    }
  }
  if (!verifyBlobUrl(ctx.secret, claims, sig)) return invalid;
  if (ctx.clock.now().getTime() > claims.exp * 1000)
    return fail(403, 'url_expired', 'the URL has expired');
  return claims;
}

/** Checks the PUT's Content-Length against the signed size and the store's limit. */
function checkLength(ctx: FsContext, request: FastifyRequest, signed: number): Failure | null {
  const cl = request.headers['content-length'];
  if (cl === undefined || request.headers['transfer-encoding'] !== undefined)
    return fail(411, 'size_mismatch', 'Content-Length is required');
  if (!DIGITS.test(cl)) return fail(400, 'size_mismatch', 'Content-Length is invalid');
  const n = Number(cl);
  if (n > ctx.maxObjectSize || signed > ctx.maxObjectSize)
    return fail(413, 'payload_too_large', 'the object is larger than the store accepts');
  if (n !== signed)
    return fail(
      400,
      'size_mismatch',
      'Content-Length differs from the size the URL was signed for',
    );
  return null;
}

/** Writes all of `chunk` at the handle's position (a `write` may be partial). */
async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

class BodyLengthError extends Error {}

/** The body's SHA-256 is not the one the URL was signed for. */
class ChecksumMismatchError extends Error {}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The key already has an object (write-once). */
class ObjectExistsError extends Error {}

const conflict = (): Failure =>
  fail(409, 'conflict', 'an object was already uploaded to this URL; upload URLs accept one PUT');

/** ENOSPC, EDQUOT: no room for the upload. */
function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const outOfSpace = (): Failure =>
  fail(
    507,
    'storage_full',
    'the server has no storage space left for this upload; nothing was stored, retry later',
  );

/** True when the key's path exists (an object, or anything else in the way). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Streams `body` to a temp file, checks it is exactly `size` bytes, fsyncs, links it to
 * the key's path (refusing an existing one: write-once) and fsyncs the directory. On any
 * failure the temp file is removed; the object of an earlier PUT is never touched.
 * @throws ObjectExistsError when the key already has an object
 */
async function receive(
  ctx: FsContext,
  key: string,
  size: number,
  sha256: string | undefined,
  body: AsyncIterable<Uint8Array>,
): Promise<void> {
  const path = ctx.pathOf(key);
  const dir = dirname(path);
  const tmp = join(dir, tempName(ctx.clock.now()));
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'wx', 0o600);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    fh = await open(tmp, 'wx', 0o600);
  }
  try {
    let n = 0;
    // Hashed as it streams in (docs/API.md "Checksums"): no second read of the file.
    const hash = createHash('sha256');
    for await (const chunk of body) {
      n += chunk.length;
      if (n > size) throw new BodyLengthError('body longer than declared');
      hash.update(chunk);
      await writeAll(fh, chunk);
    }
    if (n !== size) throw new BodyLengthError('body shorter than declared');
    if (sha256 !== undefined && hash.digest('hex') !== sha256) throw new ChecksumMismatchError();
    const now = ctx.clock.now();
    await fh.utimes(now, now);
    await fh.sync();
    await fh.close();
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') throw new ObjectExistsError();
      throw err;
    }
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await rm(tmp, { force: true });
  await fsyncDir(dir);
}

/**
 * The one byte range of a `Range` header (RFC 9110 §14.1.2: `bytes=N-`, `bytes=N-M`,
 * `bytes=-N`), clamped to the object. Null means "send the whole object": no header, a
 * unit other than bytes, several ranges or a malformed one (a server may ignore Range).
 * @param header - the request's Range header
 * @param size - the object's size
 * @returns inclusive `{ start, end }`, null, or `unsatisfiable` (answer 416)
 * @example
 * ```ts
 * byteRange('bytes=100-', 1000); // { start: 100, end: 999 }
 * ```
 */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignored, per RFC 9110
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * The Fastify plugin serving a store's signed URLs. Register it unprefixed (its routes
 * are `/blob/*`); it installs a pass-through body parser for any content type in its
 * own encapsulated scope, so uploads are streamed, never buffered.
 * @param ctx - the store's internals (see createFsBlobStore)
 * @returns the plugin, exposed as `store.routes`
 */
export function fsBlobRoutes(ctx: FsContext): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    app.put('/blob/*', { logSerializers }, async (request, reply) => {
      const claims = authorize(ctx, 'PUT', request);
      if ('status' in claims) return send(reply, request, claims, true);
      const size = claims.size ?? 0;
      const bad = checkLength(ctx, request, size);
      if (bad) return send(reply, request, bad, true);
      // Write-once: refuse before reading the body (checked again atomically at the end),
      // and while another PUT to the key is in progress (docs/OPERATIONS.md "Storage
      // bounds": one temp file per key at most).
      if (ctx.inFlight.has(claims.key)) return send(reply, request, conflict(), true);
      ctx.inFlight.set(claims.key, () => request.raw.destroy());
      try {
        if (await exists(ctx.pathOf(claims.key))) return send(reply, request, conflict(), true);
        await receive(ctx, claims.key, size, claims.sha256, request.raw);
      } catch (err) {
        if (err instanceof ObjectExistsError) return send(reply, request, conflict(), true);
        if (err instanceof ChecksumMismatchError) {
          request.log.info(
            { key: claims.key },
            'upload refused: checksum mismatch; nothing stored',
          );
          return send(
            reply,
            request,
            fail(
              400,
              'checksum_mismatch',
              'the body does not have the SHA-256 the URL was signed for',
            ),
            true,
          );
        }
        // Out of space is the server's trouble, retryable; not the client's size
        // (docs/OPERATIONS.md "A full disk"). The temp file is already gone.
        if (isOutOfSpace(err)) {
          request.log.warn({ key: claims.key }, 'upload refused: the disk is full');
          reply.header('retry-after', String(STORAGE_FULL_RETRY_AFTER_SEC));
          return send(reply, request, outOfSpace(), true);
        }
        if (request.raw.destroyed || err instanceof BodyLengthError) {
          request.log.info({ key: claims.key }, 'upload aborted or incomplete; nothing stored');
          return send(
            reply,
            request,
            fail(400, 'size_mismatch', 'the body does not match Content-Length'),
            true,
          );
        }
        throw err;
      } finally {
        ctx.inFlight.delete(claims.key);
      }
      return reply.code(200).send();
    });

    app.get('/blob/*', { logSerializers, exposeHeadRoute: false }, async (request, reply) => {
      const claims = authorize(ctx, 'GET', request);
      if ('status' in claims) return send(reply, request, claims, false);
      let fh: FileHandle;
      try {
        fh = await open(ctx.pathOf(claims.key), fsc.O_RDONLY | fsc.O_NOFOLLOW);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP')
          return send(reply, request, fail(404, 'backup_not_found', 'no such object'), false);
        throw err;
      }
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return send(reply, request, fail(404, 'backup_not_found', 'no such object'), false);
      }
      const range = byteRange(request.headers.range, st.size);
      if (range === 'unsatisfiable') {
        await fh.close();
        reply.header('content-range', `bytes */${st.size}`);
        return send(
          reply,
          request,
          fail(416, 'range_not_satisfiable', 'the range is not satisfiable'),
          false,
        );
      }
      reply
        .header('content-type', 'application/octet-stream')
        .header('cache-control', 'private, no-store')
        .header('accept-ranges', 'bytes')
        .header('last-modified', st.mtime.toUTCString());
      if (range === null) {
        reply.header('content-length', st.size);
        return reply.send(fh.createReadStream({ highWaterMark: READ_CHUNK }));
      }
      // A resumed download (the client SDK sends `Range: bytes=N-`), as S3 answers it.
      reply
        .code(206)
        .header('content-length', range.end - range.start + 1)
        .header('content-range', `bytes ${range.start}-${range.end}/${st.size}`);
      return reply.send(
        fh.createReadStream({ start: range.start, end: range.end, highWaterMark: READ_CHUNK }),
      );
    });
  };
}
