import { createHmac } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/bytes.ts';
import {
  deriveLinkingKey,
  linkingPathSuffix,
  parseLinkingKey,
  signK1,
  verifyK1,
} from '../src/lnurl.ts';

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const SEED = mnemonicToSeedSync(MNEMONIC);
const K1 = 'e2af6254a8df433264fa23f67eb8188635d15ce883e8fc020989d5f82ae6f11e';
const N = secp256k1.Point.CURVE().n;

/** The LUD-05 linking key computed independently: node:crypto HMAC and a BIP32 path string. */
function linkingKeyByPath(seed: Uint8Array, domain: string): HDKey {
  const hashing = HDKey.fromMasterSeed(seed).derive("m/138'/0");
  const mac = createHmac('sha256', hashing.privateKey!).update(domain, 'utf8').digest();
  // An index >= 2^31 is BIP32's hardened child (index - 2^31)'.
  const parts = [0, 4, 8, 12].map((o) => {
    const v = mac.readUInt32BE(o);
    return v >= 0x80000000 ? `${v - 0x80000000}'` : `${v}`;
  });
  return HDKey.fromMasterSeed(seed).derive(`m/138'/${parts.join('/')}`);
}

describe('LUD-05 linking key derivation', () => {
  it('reproduces the LUD-05 test vector path suffix', () => {
    const hashingKey = hexToBytes(
      '7d417a6a5e9a6a4a879aeaba11a11838764c8fa2b959c242d43dea682b3e409b',
    );
    expect(linkingPathSuffix(hashingKey, 'site.com')).toEqual([
      1588488367, 2659270754, 38110259, 4136336762,
    ]);
  });

  it('derives a fixed linking key for the BIP39 "abandon … about" mnemonic', () => {
    const k = deriveLinkingKey(SEED, 'site.com');
    expect(bytesToHex(k.publicKey)).toBe(
      '027da5d64331f61260eb8e2b356403446555f525bc7dc35b991ec1447e4f58991f',
    );
    expect(bytesToHex(k.privateKey)).toBe(
      '0a2ab7357ca824220a4e80eb5201499340a750b098c1a81f376ff2062ffe690e',
    );
  });

  it('matches an independent path-string derivation for many domains', () => {
    const domains = ['site.com', 'backup.noah.example', 'localhost', 'a.b', '127.0.0.1', 'x-y.z'];
    for (const domain of domains) {
      const k = deriveLinkingKey(SEED, domain);
      const ref = linkingKeyByPath(SEED, domain);
      expect(bytesToHex(k.publicKey), domain).toBe(bytesToHex(ref.publicKey!));
      expect(bytesToHex(k.privateKey), domain).toBe(bytesToHex(ref.privateKey!));
      expect(bytesToHex(secp256k1.getPublicKey(k.privateKey, true))).toBe(bytesToHex(k.publicKey));
    }
  });

  it('gives different keys for different domains and seeds', () => {
    const a = deriveLinkingKey(SEED, 'a.example');
    const b = deriveLinkingKey(SEED, 'b.example');
    const other = deriveLinkingKey(new Uint8Array(64).fill(7), 'a.example');
    expect(bytesToHex(a.publicKey)).not.toBe(bytesToHex(b.publicKey));
    expect(bytesToHex(a.publicKey)).not.toBe(bytesToHex(other.publicKey));
  });

  it('normalises the domain: trailing dot dropped, ASCII case folded (LUD-05)', () => {
    const ref = bytesToHex(deriveLinkingKey(SEED, 'site.com').publicKey);
    expect(bytesToHex(deriveLinkingKey(SEED, 'Site.COM.').publicKey)).toBe(ref);
  });

  it('rejects domains that are not host names and seeds of the wrong size', () => {
    for (const bad of ['', '.', 'https://site.com', 'site.com/path', 'a b.com', 'café.com'])
      expect(() => deriveLinkingKey(SEED, bad), bad).toThrow(RangeError);
    expect(() => deriveLinkingKey(SEED, 42 as unknown as string)).toThrow(TypeError);
    expect(() => deriveLinkingKey(new Uint8Array(15), 'site.com')).toThrow(RangeError);
    expect(() => deriveLinkingKey(new Uint8Array(65), 'site.com')).toThrow(RangeError);
    expect(() => deriveLinkingKey('seed' as unknown as Uint8Array, 'site.com')).toThrow(TypeError);
  });

  it('does not modify the seed it is given', () => {
    const seed = Uint8Array.from(SEED);
    deriveLinkingKey(seed, 'site.com');
    expect(bytesToHex(seed)).toBe(bytesToHex(SEED));
  });
});

describe('LUD-04 k1 signatures', () => {
  const key = deriveLinkingKey(SEED, 'site.com');
  const keyHex = bytesToHex(key.publicKey);

  it('signs and verifies a round trip for random keys and challenges', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (k1, raw) => {
          fc.pre(secp256k1.utils.isValidSecretKey(raw));
          const sig = signK1(bytesToHex(k1), raw);
          const pub = bytesToHex(secp256k1.getPublicKey(raw, true));
          return verifyK1(bytesToHex(k1), sig, pub);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('produces deterministic, strict-DER, low-S signatures over the raw k1 bytes', () => {
    const sig = signK1(K1, key.privateKey);
    expect(signK1(K1, key.privateKey)).toBe(sig);
    expect(sig.slice(0, 2)).toBe('30');
    const parsed = secp256k1.Signature.fromBytes(hexToBytes(sig), 'der');
    expect(parsed.hasHighS()).toBe(false);
    // No prehash: the signature verifies over k1 itself, not over SHA-256(k1).
    expect(
      secp256k1.verify(hexToBytes(sig), hexToBytes(K1), key.publicKey, {
        prehash: false,
        format: 'der',
      }),
    ).toBe(true);
    expect(
      secp256k1.verify(hexToBytes(sig), hexToBytes(K1), key.publicKey, { format: 'der' }),
    ).toBe(false);
  });

  it('accepts uppercase hex for k1, sig and key', () => {
    const sig = signK1(K1.toUpperCase(), key.privateKey);
    expect(verifyK1(K1.toUpperCase(), sig.toUpperCase(), keyHex.toUpperCase())).toBe(true);
  });

  it('rejects a signature by another key, over another k1, or with a flipped bit', () => {
    const sig = signK1(K1, key.privateKey);
    const other = bytesToHex(deriveLinkingKey(SEED, 'other.example').publicKey);
    expect(verifyK1(K1, sig, other)).toBe(false);
    expect(verifyK1(`${K1.slice(0, 63)}f`, sig, keyHex)).toBe(false);
    const bytes = hexToBytes(sig);
    for (let i = 0; i < bytes.length; i++) {
      const flipped = Uint8Array.from(bytes);
      flipped[i]! ^= 0x01;
      expect(verifyK1(K1, bytesToHex(flipped), keyHex), `byte ${i}`).toBe(false);
    }
  });

  it('accepts a high-S signature (documented: malleability is harmless for single-use k1)', () => {
    const low = secp256k1.Signature.fromBytes(hexToBytes(signK1(K1, key.privateKey)), 'der');
    const high = new secp256k1.Signature(low.r, N - low.s);
    expect(high.hasHighS()).toBe(true);
    expect(verifyK1(K1, high.toHex('der'), keyHex)).toBe(true);
  });

  it('returns false, never throws, for malformed DER and malformed arguments', () => {
    const sig = signK1(K1, key.privateKey);
    const compact = secp256k1.Signature.fromBytes(hexToBytes(sig), 'der').toHex('compact');
    const cases: [string, unknown, unknown, unknown][] = [
      ['empty sig', K1, '', keyHex],
      ['odd-length hex', K1, sig.slice(1), keyHex],
      ['not hex', K1, `zz${sig.slice(2)}`, keyHex],
      ['truncated DER', K1, sig.slice(0, -2), keyHex],
      ['trailing byte', K1, `${sig}00`, keyHex],
      ['compact, not DER', K1, compact, keyHex],
      ['wrong SEQUENCE tag', K1, `31${sig.slice(2)}`, keyHex],
      ['r = 0', K1, bytesToHex(Uint8Array.of(0x30, 6, 2, 1, 0, 2, 1, 1)), keyHex],
      ['k1 of 31 bytes', K1.slice(2), sig, keyHex],
      ['k1 of 33 bytes', `${K1}00`, sig, keyHex],
      ['key uncompressed', K1, sig, bytesToHex(secp256k1.getPublicKey(key.privateKey, false))],
      ['key not on curve', K1, sig, `02${'ff'.repeat(32)}`],
      ['key not hex', K1, sig, 'nope'],
      ['non-string k1', 42, sig, keyHex],
      ['non-string sig', K1, null, keyHex],
      ['non-string key', K1, sig, undefined],
    ];
    for (const [name, k1, s, k] of cases)
      expect(verifyK1(k1 as string, s as string, k as string), name).toBe(false);
  });

  it('signK1 rejects a k1 that is not 32 bytes of hex, and bad private keys', () => {
    expect(() => signK1(K1.slice(2), key.privateKey)).toThrow(RangeError);
    expect(() => signK1(`${K1}00`, key.privateKey)).toThrow(RangeError);
    expect(() => signK1(`${K1.slice(0, 62)}zz`, key.privateKey)).toThrow(TypeError);
    expect(() => signK1(K1, new Uint8Array(31))).toThrow(RangeError);
    expect(() => signK1(K1, new Uint8Array(32))).toThrow(RangeError);
  });
});

describe('parseLinkingKey', () => {
  const pub = deriveLinkingKey(SEED, 'site.com').publicKey;

  it('returns the 33 bytes of a valid compressed key', () => {
    expect(bytesToHex(parseLinkingKey(bytesToHex(pub)))).toBe(bytesToHex(pub));
  });

  it('throws RangeError for keys that are not 33-byte compressed points', () => {
    const priv = deriveLinkingKey(SEED, 'site.com').privateKey;
    const bad = [
      bytesToHex(secp256k1.getPublicKey(priv, false)),
      bytesToHex(pub.subarray(1)),
      `04${bytesToHex(pub.subarray(1))}`,
      `02${'ff'.repeat(32)}`,
      '',
    ];
    for (const b of bad) expect(() => parseLinkingKey(b), b).toThrow(RangeError);
  });

  it('throws TypeError for non-hex input', () => {
    expect(() => parseLinkingKey(`0x${bytesToHex(pub)}`)).toThrow(TypeError);
    expect(() => parseLinkingKey(7 as unknown as string)).toThrow(TypeError);
  });
});
