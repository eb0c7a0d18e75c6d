/**
 * The access tokens of the Noah compatibility profile (docs/API.md "Noah
 * compatibility"): compact JWS, HS256 (RFC 7515, RFC 7519), claims `{sub, iat, exp}` with
 * `sub` the user's public key, as Noah's server mints them, so that Noah's app can read
 * `exp` and renew before it, and a token from a Noah server sharing the secret is
 * accepted here too. Verification allows 30 s of clock skew, as Noah's server does.
 * Tokens are secrets: never log them.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Seconds of clock skew allowed on `exp` (Noah's server allows the same). */
export const JWT_LEEWAY_SEC = 30;

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** A minted token. */
export interface MintedToken {
  token: string;
  expiresAt: Date;
  expiresInSec: number;
}

/** Why a token was refused. */
export type JwtRefusal = 'invalid' | 'expired';

function mac(secret: string, input: string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

/**
 * Mints a token for `sub`.
 *
 * @param secret - the HS256 key
 * @param sub - the user's public key (hex)
 * @param now - issue time
 * @param ttlSec - lifetime
 * @returns the token and its expiry
 */
export function mintJwt(secret: string, sub: string, now: Date, ttlSec: number): MintedToken {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSec;
  const payload = Buffer.from(JSON.stringify({ sub, iat, exp })).toString('base64url');
  const input = `${HEADER}.${payload}`;
  return {
    token: `${input}.${mac(secret, input).toString('base64url')}`,
    expiresAt: new Date(exp * 1000),
    expiresInSec: ttlSec,
  };
}

/**
 * True when `token` has the shape of a compact JWS (three base64url segments): how a
 * request is told to come from Noah's app (the project's own tokens are one segment).
 */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((p) => SEGMENT.test(p));
}

/**
 * Verifies a token: HS256 only (any other `alg`, `none` included, is refused), the MAC
 * compared in constant time, `exp` required and checked with {@link JWT_LEEWAY_SEC}.
 *
 * @param secret - the HS256 key
 * @param token - the compact JWS
 * @param now - the current time
 * @returns the subject, or why the token is refused
 */
export function verifyJwt(
  secret: string,
  token: string,
  now: Date,
): { sub: string } | { refused: JwtRefusal } {
  if (!looksLikeJwt(token)) return { refused: 'invalid' };
  const [h, p, s] = token.split('.') as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { refused: 'invalid' };
  }
  if ((header as { alg?: unknown } | null)?.alg !== 'HS256') return { refused: 'invalid' };
  const expected = mac(secret, `${h}.${p}`);
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { refused: 'invalid' };
  const { sub, exp } = (claims ?? {}) as { sub?: unknown; exp?: unknown };
  if (typeof sub !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp))
    return { refused: 'invalid' };
  if (exp + JWT_LEEWAY_SEC <= Math.floor(now.getTime() / 1000)) return { refused: 'expired' };
  return { sub };
}
