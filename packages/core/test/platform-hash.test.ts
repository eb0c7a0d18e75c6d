/**
 * The hash seam of the platform (FORMAT.md §8.2, §8.3): one contract suite, run on both
 * implementations (node:crypto; WebCrypto with @noble/hashes), against RFC 4231 and
 * FIPS 180-2 test vectors and against @noble/hashes as an independent implementation.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../src/bytes.ts';
import * as node from '../src/platform/node.ts';
import type { Platform } from '../src/platform/types.ts';
import * as web from '../src/platform/web.ts';
import { payload } from './v2-helpers.ts';

/** Reference: each page's HMAC, truncated, concatenated. */
function referencePages(key: Uint8Array, data: Uint8Array, pageSize: number, out: number) {
  const parts: string[] = [];
  for (let off = 0; off < data.length; off += pageSize)
    parts.push(
      bytesToHex(hmac(nobleSha256, key, data.subarray(off, off + pageSize)).subarray(0, out)),
    );
  return parts.join('');
}

for (const p of [node.platform, web.platform] as Platform[]) {
  describe(`${p.name} platform: SHA-256 and HMAC-SHA-256`, () => {
    it('match the published test vectors', async () => {
      // FIPS 180-2 appendix B.1; RFC 4231 test cases 1 and 2.
      expect(bytesToHex(p.sha256().update(utf8ToBytes('abc')).digest())).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      const case1 = p.hmacSha256(new Uint8Array(20).fill(0x0b));
      expect(bytesToHex(case1.create().update(utf8ToBytes('Hi There')).digest())).toBe(
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      );
      const jefe = p.hmacSha256(utf8ToBytes('Jefe'));
      const msg = utf8ToBytes('what do ya want for nothing?');
      expect(
        bytesToHex(jefe.create().update(msg.subarray(0, 5)).update(msg.subarray(5)).digest()),
      ).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
      expect(bytesToHex(await jefe.pages(msg, msg.length, 32))).toBe(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      );
    });

    it('pages() equals one HMAC per page, truncated, for any page size and length', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 80 }),
          fc.integer({ min: 1, max: 700 }),
          fc.integer({ min: 0, max: 9 }),
          fc.integer({ min: 1, max: 32 }),
          async (key, pageSize, pages, out) => {
            const data = payload(pageSize * pages, pageSize);
            const got = await p.hmacSha256(key).pages(data, pageSize, out);
            expect(bytesToHex(got)).toBe(referencePages(key, data, pageSize, out));
          },
        ),
        { numRuns: 80 },
      );
    });

    it('pages() over more pages than one batch, on a view into a larger buffer', async () => {
      const backing = payload(3000 * 512 + 7, 3);
      const data = backing.subarray(7);
      const key = payload(32, 9);
      const got = await p.hmacSha256(key).pages(data, 512, 16);
      expect(got.length).toBe(3000 * 16);
      expect(bytesToHex(got)).toBe(referencePages(key, data, 512, 16));
    });

    it('streams in any split equal the one-shot digest', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 70 }),
          fc.uint8Array({ maxLength: 3000 }),
          fc.array(fc.nat(), { maxLength: 5 }),
          (key, msg, cuts) => {
            const h = p.sha256();
            const m = p.hmacSha256(key).create();
            let off = 0;
            for (const c of [...cuts.map((x) => x % (msg.length + 1))].sort((a, b) => a - b)) {
              h.update(msg.subarray(off, Math.max(off, c)));
              m.update(msg.subarray(off, Math.max(off, c)));
              off = Math.max(off, c);
            }
            h.update(msg.subarray(off));
            m.update(msg.subarray(off));
            expect(h.digest()).toEqual(nobleSha256(msg));
            expect(m.digest()).toEqual(hmac(nobleSha256, key, msg));
          },
        ),
        { numRuns: 100 },
      );
    });

    it('take a copy of the key, and each create() is a fresh message', async () => {
      const key = payload(32, 5);
      const mac = p.hmacSha256(key);
      const expected = hmac(nobleSha256, payload(32, 5), Uint8Array.of(1, 2));
      key.fill(0);
      expect(mac.create().update(Uint8Array.of(1, 2)).digest()).toEqual(expected);
      expect(mac.create().update(Uint8Array.of(1, 2)).digest()).toEqual(expected);
      expect((await mac.pages(Uint8Array.of(1, 2), 2, 32)).slice()).toEqual(expected);
    });

    it('check their arguments, and refuse a second digest()', async () => {
      const mac = p.hmacSha256(new Uint8Array(32));
      await expect(mac.pages(new Uint8Array(10), 4, 16)).rejects.toThrow(RangeError);
      await expect(mac.pages(new Uint8Array(8), 0, 16)).rejects.toThrow(RangeError);
      await expect(mac.pages(new Uint8Array(8), 4, 33)).rejects.toThrow(RangeError);
      await expect(mac.pages(new Uint8Array(8), 4, 0)).rejects.toThrow(RangeError);
      await expect(mac.pages([1, 2] as unknown as Uint8Array, 1, 16)).rejects.toThrow(TypeError);
      expect(await mac.pages(new Uint8Array(0), 4096, 16)).toEqual(new Uint8Array(0));
      expect(() => p.hmacSha256('key' as unknown as Uint8Array)).toThrow(TypeError);
      expect(() => p.hmacSha256(new Uint8Array(0))).toThrow(RangeError);
      expect(() => p.sha256().update('x' as unknown as Uint8Array)).toThrow(TypeError);
      const h = p.sha256();
      h.digest();
      expect(() => h.digest()).toThrow();
      const m = mac.create();
      m.digest();
      expect(() => m.digest()).toThrow();
    });
  });
}

describe('node and web agree', () => {
  it('on the digests of 100 4 KiB pages', async () => {
    const key = hexToBytes('11'.repeat(32));
    const data = payload(100 * 4096, 11);
    const [a, b] = [
      await node.platform.hmacSha256(key).pages(data, 4096, 16),
      await web.platform.hmacSha256(key).pages(data, 4096, 16),
    ];
    expect(a).toEqual(b);
  });
});
