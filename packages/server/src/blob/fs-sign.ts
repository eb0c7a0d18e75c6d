/**
 * HMAC-signed URLs of the fs blob store: the same semantics as S3 pre-signed URLs (AWS
 * SigV4 query authentication) in a much smaller form. The signature covers the method,
 * the key, the expiry and — for PUT — the exact Content-Length, so a URL cannot be
 * replayed for another key, another method, a later time or another size.
 *
 *   sig = base64url(HMAC-SHA256(secret, "noah-blob-url-v1" LF method LF key LF exp LF size
 *                                 [LF sha256]))
 *
 * (RFC 2104 HMAC; `exp` is Unix seconds; `size` is empty for GET.) Signatures are secrets:
 * never log them.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signed fields of one URL. */
export interface BlobUrlClaims {
  method: 'GET' | 'PUT';
  key: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /** Exact byte count (PUT only). */
  size?: number;
  /** SHA-256 the body must have, lowercase hex (PUT only, optional). */
  sha256?: string;
}

/** Minimum signing secret length (bytes): a full HMAC-SHA256 key (RFC 2104 §3). */
export const MIN_SECRET_BYTES = 32;

function mac(secret: Uint8Array, c: BlobUrlClaims): Buffer {
  const msg = [
    'noah-blob-url-v1',
    c.method,
    c.key,
    String(c.exp),
    c.size === undefined ? '' : String(c.size),
    // A sixth line only when present: URLs signed without a checksum keep their form.
    ...(c.sha256 === undefined ? [] : [c.sha256]),
  ].join('\n');
  return createHmac('sha256', secret).update(msg, 'utf8').digest();
}

/**
 * Signs the claims of one URL.
 * @returns the signature, base64url (43 characters)
 * @example signBlobUrl(secret, { method: 'GET', key: 'u/a', exp: 1767225600 })
 */
export function signBlobUrl(secret: Uint8Array, claims: BlobUrlClaims): string {
  return mac(secret, claims).toString('base64url');
}

/**
 * Checks a signature in constant time (RFC 2104 §5: compare the full tag).
 * @returns true when `sig` is the signature of `claims` under `secret`
 */
export function verifyBlobUrl(secret: Uint8Array, claims: BlobUrlClaims, sig: string): boolean {
  const expected = mac(secret, claims);
  const given = Buffer.from(sig, 'base64url');
  // base64url decoding is lenient; re-encoding rejects non-canonical spellings.
  if (given.length !== expected.length || given.toString('base64url') !== sig) return false;
  return timingSafeEqual(given, expected);
}
