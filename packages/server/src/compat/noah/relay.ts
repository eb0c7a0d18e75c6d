/**
 * The upload relay of the Noah profile (docs/OPERATIONS.md "Noah compatibility"). Noah's
 * app asks an upload URL without saying the size and PUTs with no header but
 * Content-Type, so no store URL fits it: an S3 URL that signs neither Content-Length nor
 * `If-None-Match: *` would let its holder replace a completed backup, and the fs store
 * signs the size. The app gets instead a URL of this server, signed (HMAC-SHA256) for
 * one user, one new object key and an expiry. A PUT to it reads Content-Length, then
 * does what `upload_url` does for that size (limits, quota, rollout, a pending upload
 * under that key) and streams the body to the store's own write-once URL for exactly
 * that size; on any failure the pending upload is given back. A key that already has a
 * pending upload, a backup or an object is refused (409), so the URL stores one object
 * once, and the stored backup is as write-once as any other.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import type { Clock } from '@noah-backup/core/clock';
import type { FastifyInstance } from 'fastify';
import { assertBlobKey } from '../../blob/keys.ts';
import { apiError } from '../../errors.ts';
import { authLimitKey, rateLimitHook } from '../../http/rate-limit.ts';
import type { BackupService } from '../../services/backups.ts';
import type { BlobStore, PresignedPut } from '../../stores/blob.ts';
import type { MetadataStore } from '../../stores/metadata.ts';

/** The relay's path. */
export const RELAY_PATH = '/v0/noah/upload';
const LABEL = 'noah-backup/noah-compat/upload-relay';
const DIGITS = /^\d{1,15}$/;
/** No byte either way with the store for this long: the relayed PUT is given up. */
const STORE_IDLE_MS = 60_000;

/** Signs and checks relay URLs. */
export interface RelaySigner {
  /** An absolute URL for one PUT of `key` by `userId`, valid for the upload URL lifetime. */
  sign(userId: string, key: string): string;
  /** The claims of a relay URL's query, or why it is refused. */
  verify(query: Record<string, unknown>): { userId: string; key: string } | 'invalid' | 'expired';
}

/**
 * Creates the signer.
 *
 * @param deps.secret - the profile's secret (a key for this use is derived from it)
 * @param deps.publicUrl - this server's base URL
 * @param deps.ttlSec - URL lifetime (UPLOAD_URL_TTL)
 * @param deps.clock - the time source
 * @returns the signer
 */
export function createRelaySigner(deps: {
  secret: string;
  publicUrl: string;
  ttlSec: number;
  clock: Clock;
}): RelaySigner {
  const key = createHmac('sha256', deps.secret).update(LABEL).digest();
  const mac = (userId: string, k: string, exp: number) =>
    createHmac('sha256', key).update(`PUT\n${userId}\n${k}\n${exp}`).digest();
  return {
    sign(userId, k) {
      const exp = Math.floor(deps.clock.now().getTime() / 1000) + deps.ttlSec;
      const q = new URLSearchParams({
        k,
        u: userId,
        e: String(exp),
        // Named `sig` like the fs store's: log scrubbing censors it wherever the URL is
        // quoted (the app's failure report quotes it, docs/OPERATIONS.md "Logs and metrics").
        sig: mac(userId, k, exp).toString('base64url'),
      });
      return `${deps.publicUrl}${RELAY_PATH}?${q}`;
    },
    verify(query) {
      const { k, u, e, sig: s } = query;
      if (typeof k !== 'string' || typeof u !== 'string' || typeof e !== 'string') return 'invalid';
      if (typeof s !== 'string' || !DIGITS.test(e)) return 'invalid';
      const given = Buffer.from(s, 'base64url');
      const want = mac(u, k, Number(e));
      if (given.length !== want.length || !timingSafeEqual(given, want)) return 'invalid';
      if (Number(e) <= deps.clock.now().getTime() / 1000) return 'expired';
      return { userId: u, key: k };
    },
  };
}

/** PUTs `body` to a store URL; resolves with the HTTP status. */
function forward(
  app: FastifyInstance,
  blobs: BlobStore,
  put: Pick<PresignedPut, 'url' | 'headers'>,
  size: number,
  body: Readable,
  clientIp: string,
): Promise<number> {
  const headers = { ...put.headers, 'content-length': String(size) };
  // The fs store's URLs are served by this very app: stay in process, as the client, so
  // that its per-address limit counts the client and not every relayed upload as one.
  if (blobs.routes) {
    const u = new URL(put.url);
    return app
      .inject({
        method: 'PUT',
        url: u.pathname + u.search,
        headers,
        payload: body,
        remoteAddress: clientIp,
      })
      .then((r) => r.statusCode);
  }
  return new Promise((resolve, reject) => {
    // Which side failed first: a client that goes away (a phone going offline) is its
    // own doing, answered 400 as the fs store answers a short body; only a failing
    // store is a server fault (5xx). The other side's error follows from the first.
    let first: 'client' | 'store' | null = null;
    body.once('aborted', () => {
      first ??= 'client';
    });
    const send = put.url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(put.url, { method: 'PUT', headers, timeout: STORE_IDLE_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('the blob store did not answer')));
    req.on('error', (err) => {
      first ??= 'store';
      if (first === 'client') resolve(400);
      else reject(err);
    });
    // A client that stops or goes away aborts the store's PUT too: nothing half-stored.
    pipeline(body, req, (err) => {
      if (err) req.destroy(err);
    });
  });
}

/** The error for a store's answer to a relayed PUT. */
function storeRefusal(status: number) {
  if (status === 409 || status === 412) return apiError('conflict');
  if (status === 429) return apiError('rate_limited');
  if (status === 507) return apiError('storage_full');
  if (status >= 500 || status === 0) return apiError('storage_unavailable');
  // 400: the body did not match its Content-Length.
  return apiError('size_mismatch', 'the body does not match Content-Length; nothing was stored');
}

/**
 * Registers the relay route (outside the JSON scope: it takes any body, streamed).
 *
 * @param app - the root app
 * @param deps - signer, services, stores, the largest backup and the per-address limit
 */
export async function noahRelayRoutes(
  app: FastifyInstance,
  deps: {
    signer: RelaySigner;
    backups: BackupService;
    metadata: MetadataStore;
    blobs: BlobStore;
    maxBackupSize: number;
    perMinute: number;
  },
): Promise<void> {
  const { backups, metadata, blobs } = deps;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const limit = rateLimitHook(app, { perMinute: deps.perMinute, key: (r) => authLimitKey(r.ip) });
  if (limit) app.addHook('onRequest', limit);

  app.put(RELAY_PATH, async (request, reply) => {
    const claims = deps.signer.verify(request.query as Record<string, unknown>);
    if (claims === 'invalid') throw apiError('signature_invalid');
    if (claims === 'expired') throw apiError('url_expired');
    const { userId, key } = claims;
    assertBlobKey('key', key);
    const cl = request.headers['content-length'];
    if (cl === undefined || request.headers['transfer-encoding'] !== undefined)
      throw apiError('bad_request', 'Content-Length is required');
    if (!DIGITS.test(cl) || Number(cl) === 0)
      throw apiError('bad_request', 'Content-Length must be a positive integer');
    const size = Number(cl);
    if (size > deps.maxBackupSize) throw apiError('backup_too_large');
    // One object, once: not while another PUT holds the key, nor after.
    const conflict = () =>
      apiError(
        'conflict',
        'an object was already uploaded to this URL; upload URLs accept one PUT',
      );
    const taken = async () => {
      const mine = await metadata.findUserObjects(userId, [key]);
      return mine.pending.length > 0 || mine.referenced.length > 0;
    };
    if ((await taken()) || (await blobs.head(key))) throw conflict();
    const issued = await backups
      .uploadUrl(userId, { backup_size: size }, { objectKey: key })
      .catch(async (err) => {
        // Two PUTs at once both passed the check; the store's key constraint let one in.
        throw (await taken()) ? conflict() : err;
      });
    const put = { url: issued.upload_url, headers: issued.upload_headers ?? {} };
    let status = 0;
    try {
      status = await forward(app, blobs, put, size, request.raw, request.ip).catch((err) => {
        request.log.warn({ err }, 'relayed upload: the blob store failed');
        return 0;
      });
    } finally {
      if (status >= 400 && status !== 409 && status !== 412) {
        // The store answered and kept nothing: only the pending upload goes, and the URL
        // stays good for the app's own retry of this PUT (ky retries a 5xx or a 429).
        await metadata.cancelPendingUpload(userId, key).catch(() => {});
        request.log.info({ userId, status }, 'relayed upload refused by the store; nothing kept');
      } else if (status < 200 || status > 299) {
        // No answer, or an object under the key: the key is retired like any cancelled one.
        await backups.cancelUpload(userId, { s3_key: key }).catch(() => {});
        request.log.info({ userId, status }, 'relayed upload refused by the store; nothing kept');
      }
    }
    if (status < 200 || status > 299) throw storeRefusal(status);
    return reply.code(200).send();
  });
}
