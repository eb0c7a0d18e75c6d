/**
 * The receiving end of Web Push, written from the RFCs with node:crypto only (not the
 * `web-push` library the server sends with), for tests: a user agent's key pair and
 * authentication secret, decryption of an `aes128gcm` message (RFC 8291 §3.4, RFC 8188
 * §2), and the push service's check of a VAPID `Authorization` header (RFC 8292 §2,
 * §3: an ES256 JWT whose `aud` is the endpoint's origin and whose `exp` is at most 24 h
 * away, and `k` the signer's public key).
 * @module
 */
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  type ECDH,
  hkdfSync,
  randomBytes,
  verify,
} from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A user agent's Web Push subscription keys. */
export interface UserAgentKeys {
  ecdh: ECDH;
  auth: Buffer;
  /** As a device registers them (base64url). */
  registration: { p256dh: string; auth: string };
}

/** A fresh P-256 key pair and 16-byte authentication secret (RFC 8291 §2, §3.2). */
export function newUserAgentKeys(): UserAgentKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    registration: {
      p256dh: ecdh.getPublicKey().toString('base64url'),
      auth: auth.toString('base64url'),
    },
  };
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number) =>
  Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/**
 * Decrypts an `aes128gcm` Web Push message for `ua`.
 *
 * @returns the plaintext
 * @throws when the header is malformed, a record fails authentication, or padding is wrong
 */
export function decryptWebPush(ua: UserAgentKeys, body: Buffer): Buffer {
  // RFC 8188 §2.1: salt(16) ‖ rs(4) ‖ idlen(1) ‖ keyid(idlen) ‖ records.
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, expected the 65-byte key`);
  const records = body.subarray(21 + idlen);
  // RFC 8291 §3.3, §3.4.
  const ecdhSecret = ua.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ua.ecdh.getPublicKey(), asPublic]);
  const ikm = hkdf(ecdhSecret, ua.auth, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonceBase = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);
  const out: Buffer[] = [];
  const count = Math.ceil(records.length / rs);
  for (let i = 0; i < count; i++) {
    const record = records.subarray(i * rs, (i + 1) * rs);
    const nonce = Buffer.from(nonceBase);
    // RFC 8188 §2.3: the base XOR the record's sequence number (here < 2^32).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ i) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, -16)), decipher.final()]);
    // RFC 8188 §2: data ‖ delimiter (2 on the last record, 1 before) ‖ zero padding.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const delimiter = plain[end];
    if (delimiter !== (i === count - 1 ? 2 : 1)) throw new Error('bad padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}

/** What a VAPID header said, once verified. */
export interface VapidClaims {
  aud: string;
  exp: number;
  sub?: string;
  /** The `k` parameter: the signer's public key, base64url. */
  key: string;
}

/**
 * Checks a VAPID `Authorization: vapid t=<jwt>, k=<key>` header as a push service would.
 *
 * @param headers - the request's headers
 * @param endpoint - the endpoint the request went to (its origin is the audience)
 * @param nowSec - the receiver's time, Unix seconds
 * @returns the claims
 * @throws when the header is missing or malformed, the signature does not verify against
 *   `k`, `aud` is not the endpoint's origin, or `exp` is past or more than 24 h away
 */
export function verifyVapid(
  headers: IncomingHttpHeaders,
  endpoint: string,
  nowSec: number,
): VapidClaims {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? '');
  if (!m) throw new Error(`not a VAPID authorization: ${headers.authorization}`);
  const [token, key] = [m[1]!, m[2]!];
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) throw new Error('not a JWS compact serialisation');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'ES256') throw new Error(`alg ${header.alg}, expected ES256`);
  const raw = Buffer.from(key, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 key');
  const publicKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!signed) throw new Error('the JWT signature does not verify against k');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Omit<VapidClaims, 'key'>;
  if (claims.aud !== new URL(endpoint).origin)
    throw new Error(`aud ${claims.aud}, expected ${new URL(endpoint).origin}`);
  if (!(claims.exp > nowSec && claims.exp <= nowSec + 24 * 3600))
    throw new Error(`exp ${claims.exp} is not within 24 h of ${nowSec}`);
  return { ...claims, key };
}
