/**
 * The Noah profile's pieces on their own (docs/API.md "Noah compatibility"): its
 * configuration, its HS256 tokens (what a forged, altered, `alg: none` or expired token
 * gets) and the app's signature check (a high-S signature or another message is refused,
 * as libsecp256k1 refuses it on Noah's server), and the rebuilt app's native encryption
 * against this project's noah-v1 (docs/FORMAT.md §4), both ways.
 */
import { createHmac } from 'node:crypto';
import { decryptNoahV1, encryptNoahV1 } from '@noah-backup/core/legacy';
import { describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../src/config.ts';
import { JWT_LEEWAY_SEC, looksLikeJwt, mintJwt, verifyJwt } from '../src/compat/noah/jwt.ts';
import { verifySignedMessage } from '../src/compat/noah/signature.ts';
import { noahDecrypt, noahEncrypt } from './helpers/noah-app.ts';
import { deriveNoahKey, signNoahMessage } from './helpers/noah-keys.ts';

const SECRET = 'x'.repeat(40);
const T0 = new Date('2026-12-07T12:00:00Z');
const KEY = deriveNoahKey(
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
);

describe('NOAH_COMPAT configuration', () => {
  it('is off unless NOAH_COMPAT=1', () => {
    expect(loadConfig({}).noahCompat).toBeNull();
    expect(loadConfig({ NOAH_COMPAT: '0', NOAH_COMPAT_JWT_SECRET: 'short' }).noahCompat).toBeNull();
  });

  it('needs a secret of 32 characters and a lifetime of at least 4 h', () => {
    expect(loadConfig({ NOAH_COMPAT: '1', NOAH_COMPAT_JWT_SECRET: SECRET }).noahCompat).toEqual({
      jwtSecret: SECRET,
      tokenTtlSec: 72 * 3600,
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ NOAH_COMPAT: '1' })).toEqual([
      expect.stringMatching(/^NOAH_COMPAT_JWT_SECRET: required/),
    ]);
    expect(
      problems({ NOAH_COMPAT: '1', NOAH_COMPAT_JWT_SECRET: SECRET, NOAH_COMPAT_TOKEN_TTL: '3h' }),
    ).toEqual([expect.stringMatching(/^NOAH_COMPAT_TOKEN_TTL="3h": must be/)]);
    expect(problems({ NOAH_COMPAT: 'yes' })).toEqual([
      expect.stringMatching(/^NOAH_COMPAT="yes": must be 0 or 1/),
    ]);
  });
});

describe('Noah tokens', () => {
  const { token } = mintJwt(SECRET, KEY.pub, T0, 3600);
  const at = (sec: number) => new Date(T0.getTime() + sec * 1000);

  it('verifies until exp plus the leeway, then says expired', () => {
    expect(looksLikeJwt(token)).toBe(true);
    expect(verifyJwt(SECRET, token, at(3600 + JWT_LEEWAY_SEC - 1))).toEqual({ sub: KEY.pub });
    expect(verifyJwt(SECRET, token, at(3600 + JWT_LEEWAY_SEC))).toEqual({ refused: 'expired' });
  });

  it('refuses another secret, a changed payload and alg none', () => {
    expect(verifyJwt(`${SECRET}y`, token, T0)).toEqual({ refused: 'invalid' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const other = Buffer.from(JSON.stringify({ ...claims, sub: `02${'1'.repeat(64)}` })).toString(
      'base64url',
    );
    expect(verifyJwt(SECRET, `${h}.${other}.${s}`, T0)).toEqual({ refused: 'invalid' });
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(verifyJwt(SECRET, `${none}.${p}.${s}`, T0)).toEqual({ refused: 'invalid' });
    // Even correctly MACed, a header naming another algorithm is refused.
    const hs512 = Buffer.from(JSON.stringify({ alg: 'HS512' })).toString('base64url');
    const mac = createHmac('sha256', SECRET).update(`${hs512}.${p}`).digest('base64url');
    expect(verifyJwt(SECRET, `${hs512}.${p}.${mac}`, T0)).toEqual({ refused: 'invalid' });
    expect(verifyJwt(SECRET, 'abc', T0)).toEqual({ refused: 'invalid' });
  });
});

describe("Noah's login signature", () => {
  const k1 = 'ab'.repeat(32);

  it('accepts the app’s signature of the k1 and nothing else', () => {
    const sig = signNoahMessage(k1, KEY);
    expect(verifySignedMessage(k1, sig, KEY.pub)).toBe(true);
    expect(verifySignedMessage('cd'.repeat(32), sig, KEY.pub)).toBe(false);
    const other = deriveNoahKey('zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong');
    expect(verifySignedMessage(k1, sig, other.pub)).toBe(false);
    expect(verifySignedMessage(k1, 'zz', KEY.pub)).toBe(false);
    expect(verifySignedMessage(k1, sig, 'not-a-key')).toBe(false);
  });

  it('refuses the high-S twin of a valid signature, as libsecp256k1 does', () => {
    const der = Buffer.from(signNoahMessage(k1, KEY), 'hex');
    const rLen = der[3]!;
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${der.subarray(6 + rLen).toString('hex')}`);
    const high = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
    const sInt = Buffer.concat([Buffer.from([0x02, 33, 0]), high]);
    const body = Buffer.concat([der.subarray(2, 4 + rLen), sInt]);
    const twin = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(verifySignedMessage(k1, twin.toString('hex'), KEY.pub)).toBe(false);
  });
});

describe("the rebuilt app's native encryption", () => {
  const words = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
  const zip = Uint8Array.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

  it('is the noah-v1 format this project reads and writes', async () => {
    const text = noahEncrypt(zip, words);
    expect(await decryptNoahV1(Buffer.from(text), words)).toEqual(zip);
    const ours = Buffer.from(await encryptNoahV1(zip, words)).toString('utf8');
    expect(new Uint8Array(noahDecrypt(ours.trim(), words))).toEqual(zip);
  });
});
