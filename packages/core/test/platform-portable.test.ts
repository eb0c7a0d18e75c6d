/**
 * The two platforms that React Native builds on, against the Node platform: `js.ts` (pure
 * JavaScript: the Hermes vector runner's) and `quick-crypto.ts` bound to node:crypto, the
 * API react-native-quick-crypto reproduces for these calls (docs/REACT-NATIVE.md). One
 * contract per Platform function: the same bytes as node.ts, the same refusals (wrong
 * tag, corrupt or trailing zlib data, the output cap, non-canonical base64), the same
 * argument checks.
 */
import * as nodeCrypto from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LimitExceededError, UnsupportedCompressionError } from '../src/errors.ts';
import * as js from '../src/platform/js.ts';
import * as node from '../src/platform/node.ts';
import { type CryptoEngine, enginePlatform } from '../src/platform/quick-crypto.ts';
import type { Platform } from '../src/platform/types.ts';
import { collect, fromBytes } from '../src/stream.ts';
import { fixedRandom } from './v2-helpers.ts';

const engine = enginePlatform(nodeCrypto as unknown as CryptoEngine, 'react-native');
const PLATFORMS: [string, Platform][] = [
  ['js', js.platform],
  ['quick-crypto on node:crypto', engine],
];
const BIG = { maxOutputBytes: 2 ** 40 };
const rnd = fixedRandom(20);

/** Text-like data with some noise: compresses, but not to nothing. */
function compressible(n: number): Uint8Array {
  const noise = rnd(n);
  const text = new TextEncoder().encode('{"txid":"a1b2c3","amount_sat":21000,"memo":"tea"},');
  return noise.map((x, i) => (x < 16 ? x : text[i % text.length]!));
}

/** Byte equality without vitest's element-by-element deep compare (slow on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** The error a stream ends with, or undefined. */
async function failure(s: AsyncIterable<Uint8Array>): Promise<unknown> {
  try {
    await collect(s);
  } catch (e) {
    return e;
  }
  return undefined;
}

for (const [name, p] of PLATFORMS) {
  describe(`${name} platform`, () => {
    it('AES-256-GCM: the same ciphertext as node, decrypts node output, any flipped bit refused', async () => {
      for (const n of [0, 1, 15, 16, 17, 4096, 70_001]) {
        const key = rnd(32);
        const nonce = rnd(12);
        const aad = n % 2 ? rnd(13) : undefined;
        const data = rnd(n);
        const want = await node.aesGcm(key).encrypt(nonce, data, aad);
        const gcm = p.aesGcm(key);
        key.fill(0); // the platform copied it
        expect(await gcm.encrypt(nonce, data, aad)).toEqual(want);
        const { ciphertext, tag } = await gcm.seal(nonce, data, aad);
        expect(new Uint8Array([...ciphertext, ...tag])).toEqual(want);
        expect(gcm.sealSync!(nonce, data, aad).tag).toEqual(tag);
        expect(await gcm.decrypt(nonce, want, aad)).toEqual(data);
        expect(gcm.decryptSync!(nonce, want, aad)).toEqual(data);
        for (const bit of [0, 8 * want.length - 1, 8 * Math.floor(want.length / 2) + 3]) {
          const bad = want.slice();
          bad[bit >> 3]! ^= 1 << (bit & 7);
          await expect(gcm.decrypt(nonce, bad, aad)).rejects.toThrow(
            'AES-GCM authentication failed',
          );
        }
        if (aad)
          await expect(gcm.decrypt(nonce, want, rnd(13))).rejects.toThrow('authentication failed');
      }
    });

    it('AES-256-GCM: argument checks', async () => {
      expect(() => p.aesGcm(new Uint8Array(16))).toThrow(RangeError);
      expect(() => p.aesGcm('k' as unknown as Uint8Array)).toThrow(TypeError);
      const gcm = p.aesGcm(rnd(32));
      await expect(gcm.encrypt(new Uint8Array(8), rnd(3))).rejects.toThrow(RangeError);
      await expect(gcm.decrypt(new Uint8Array(12), rnd(15))).rejects.toThrow(RangeError);
    });

    it('PBKDF2-SHA-256 and -SHA-512: the same keys as node', async () => {
      for (const [iterations, length] of [
        [1, 32],
        [2048, 64],
        [10_000, 32],
        [3, 100],
      ] as const) {
        const password = rnd(20);
        const salt = rnd(16);
        expect(await p.pbkdf2Sha256(password, salt, iterations, length)).toEqual(
          await node.pbkdf2Sha256(password, salt, iterations, length),
        );
        expect(await p.pbkdf2Sha512(password, salt, iterations, length)).toEqual(
          await node.pbkdf2Sha512(password, salt, iterations, length),
        );
      }
      await expect(p.pbkdf2Sha256(rnd(3), rnd(3), 0, 32)).rejects.toThrow(RangeError);
      await expect(p.pbkdf2Sha512(rnd(3), rnd(3), 1, 0)).rejects.toThrow(RangeError);
    });

    it('SHA-256 and HMAC-SHA-256: the same digests as node, pages and streams', async () => {
      const key = rnd(32);
      const data = rnd(4096 * 5);
      expect(await p.hmacSha256(key).pages(data, 4096, 16)).toEqual(
        await node.hmacSha256(key).pages(data, 4096, 16),
      );
      const mine = p.hmacSha256(key).create();
      const theirs = node.hmacSha256(key).create();
      for (const cut of [0, 1, 4095, 9000]) {
        mine.update(data.subarray(cut, cut + 700));
        theirs.update(data.subarray(cut, cut + 700));
      }
      expect(mine.digest()).toEqual(theirs.digest());
      expect(() => mine.digest()).toThrow();
      expect(p.sha256().update(data).update(new Uint8Array(0)).digest()).toEqual(
        node.sha256().update(data).digest(),
      );
      await expect(p.hmacSha256(key).pages(rnd(100), 64, 16)).rejects.toThrow(RangeError);
      expect(() => p.hmacSha256(new Uint8Array(0))).toThrow(RangeError);
    });

    it('deflate: the bytes of node zlib at every level, inflated by node', async () => {
      for (const n of [0, 1, 1000, 65_536, 300_001]) {
        const data = compressible(n);
        for (const level of [1, 6, 9]) {
          const z = await collect(p.deflate(fromBytes(data, 4093), { level }));
          expect(Buffer.compare(z, deflateSync(data, { level })), `n=${n} level=${level}`).toBe(0);
        }
        const z = await collect(p.deflate(fromBytes(data, 70_001)));
        expect(same(await collect(node.inflate(fromBytes(z), BIG)), data)).toBe(true);
      }
      expect(() => p.deflate(fromBytes(rnd(3)), { level: 0 })).toThrow(RangeError);
      expect(() => p.deflate(fromBytes(rnd(3)), { level: 1.5 })).toThrow(TypeError);
    });

    it('inflate: node zlib output at odd read sizes', async () => {
      for (const n of [0, 1, 4096, 262_145]) {
        const data = compressible(n);
        const z = new Uint8Array(deflateSync(data, { level: 3 }));
        for (const read of [1, 7, 4093, 1 << 20])
          expect(same(await collect(p.inflate(fromBytes(z, read), BIG)), data)).toBe(true);
      }
    });

    it('inflate: refuses trailing bytes, truncation, corruption, gzip and dictionaries', async () => {
      const data = compressible(50_000);
      const z = new Uint8Array(deflateSync(data));
      const cases: [string, Uint8Array][] = [
        ['one byte after', new Uint8Array([...z, 0])],
        ['a second stream after', new Uint8Array([...z, ...deflateSync(rnd(10))])],
        ['cut in the trailer', z.subarray(0, z.length - 1)],
        ['cut in the body', z.subarray(0, z.length >> 1)],
        ['empty', new Uint8Array(0)],
        ['gzip', new Uint8Array(gzipSync(data))],
        ['raw deflate', z.subarray(2)],
        ['wrong adler32', z.map((b, i) => (i === z.length - 1 ? b ^ 1 : b))],
        ['preset dictionary', new Uint8Array(deflateSync(data, { dictionary: rnd(100) }))],
      ];
      for (const [label, bad] of cases)
        for (const read of [1, 4093, 1 << 20]) {
          const err = await failure(p.inflate(fromBytes(bad, read), BIG));
          expect(err, `${label} read=${read}`).toBeInstanceOf(Error);
          expect(err, label).not.toBeInstanceOf(LimitExceededError);
        }
    });

    it('inflate: the output cap yields at most the cap, then LimitExceededError', async () => {
      const data = new Uint8Array(5 << 20); // zeros: about 1000:1
      const z = new Uint8Array(deflateSync(data));
      for (const cap of [0, 1, 100_000, (5 << 20) - 1]) {
        let got = 0;
        const err = await failure(
          (async function* () {
            for await (const c of p.inflate(fromBytes(z, 4096), { maxOutputBytes: cap })) {
              got += c.length;
              yield c;
            }
          })(),
        );
        expect(err, `cap ${cap}`).toBeInstanceOf(LimitExceededError);
        expect(got).toBeLessThanOrEqual(cap);
      }
      const all = await collect(p.inflate(fromBytes(z), { maxOutputBytes: 5 << 20 }));
      expect(same(all, data)).toBe(true);
    });

    it('zstd: reads node zstd frames; writers get UnsupportedCompressionError', async () => {
      const data = compressible(300_000);
      const z = await collect(node.zstdCompress(fromBytes(data), { level: 3 }));
      expect(same(await collect(p.zstdDecompress(fromBytes(z, 777), BIG)), data)).toBe(true);
      expect(await p.zstdCompressAvailable()).toBe(false);
      const err = await failure(p.zstdCompress(fromBytes(data), { level: 1 }));
      expect(err).toBeInstanceOf(UnsupportedCompressionError);
    });

    it('base64: the same text as node; the same refusals', () => {
      for (const n of [0, 1, 2, 3, 100, 3 * 8192 + 1, 70_000]) {
        const bytes = rnd(n);
        const text = p.base64Encode(bytes);
        expect(text).toEqual(node.base64Encode(bytes));
        expect(p.base64Decode(text)).toEqual(bytes);
      }
      const enc = (s: string) => new TextEncoder().encode(s);
      for (const bad of ['AQI', 'AQ=D', 'AB==', 'AQID\n', ' AQID', 'AQ-_', 'AQ==AQID', '====', 'é'])
        expect(() => p.base64Decode(enc(bad)), bad).toThrow(SyntaxError);
    });
  });
}
