import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecryptionError, NotABackupError } from '../src/errors.ts';
import { detectFormat } from '../src/format.ts';
import {
  createSeedV0KeyCache,
  decodeLegacyText,
  decryptSeedV0,
  encodeLegacyText,
  encryptSeedV0,
} from '../src/legacy.ts';

// Properties of seed-v0 and of detection (FORMAT.md §2.1, §3). noah-v1 shares the code
// paths but costs 600k PBKDF2 iterations per run, so it is covered by example tests.

const phrase = fc
  .string({ minLength: 1, maxLength: 40 })
  .filter((s) => /[^\p{White_Space}]/u.test(s));

describe('seed-v0 properties', () => {
  it('round-trips any plaintext under any seedphrase, and detection never says v2', async () => {
    const keyCache = createSeedV0KeyCache();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), phrase, async (pt, p) => {
        const text = await encryptSeedV0(pt, p, { keyCache });
        expect(['seed-v0', 'legacy']).toContain(detectFormat(text));
        expect(await decryptSeedV0(text, p, { keyCache })).toEqual(pt);
      }),
      { numRuns: 40 },
    );
    keyCache.destroy();
  });

  it('rejects any single flipped bit of the blob with DecryptionError', async () => {
    const keyCache = createSeedV0KeyCache();
    const text = await encryptSeedV0(Uint8Array.of(1, 2, 3, 4, 5), 'words', { keyCache });
    const blob = decodeLegacyText(text);
    await fc.assert(
      fc.asyncProperty(fc.nat(blob.length * 8 - 1), async (bit) => {
        const bad = Uint8Array.from(blob);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        await expect(decryptSeedV0(encodeLegacyText(bad), 'words', { keyCache })).rejects.toThrow(
          DecryptionError,
        );
      }),
      { numRuns: 60 },
    );
    keyCache.destroy();
  });

  it('decodes exactly what it encodes, and rejects any inserted byte but CR and LF', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.nat(),
        fc
          .integer({ min: 0, max: 255 })
          .filter((b) => !/[A-Za-z0-9+/=]/.test(String.fromCharCode(b))),
        (blob, at, junk) => {
          const text = encodeLegacyText(blob);
          expect(decodeLegacyText(text)).toEqual(blob);
          const i = at % text.length;
          const bad = Uint8Array.of(...text.subarray(0, i), junk, ...text.subarray(i));
          // FORMAT.md §3.3: line breaks are ignored anywhere; any other byte is rejected.
          if (junk === 0x0a || junk === 0x0d) expect(decodeLegacyText(bad)).toEqual(blob);
          else expect(() => decodeLegacyText(bad)).toThrow(NotABackupError);
        },
      ),
      { numRuns: 200 },
    );
  });
});
