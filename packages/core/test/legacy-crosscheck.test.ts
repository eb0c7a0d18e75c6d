import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToUtf8, utf8ToBytes } from '../src/bytes.ts';
import { decryptNoahV1, decryptSeedV0, encryptNoahV1, encryptSeedV0 } from '../src/legacy.ts';
import { requirePython, runPython } from './legacy-python.ts';

// Differential test against scripts/crosscheck_legacy.py (Python `cryptography`), an
// implementation of FORMAT.md §3–§4 that shares no code with ours.

const PHRASES = [
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  '\u3000 çà et là — 日本語の🔑フレーズ \n',
];
const SIZES: Record<'seed-v0' | 'noah-v1', number[]> = {
  'seed-v0': [0, 1, 70_000],
  'noah-v1': [0, 1000],
};

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 167 + 13) & 0xff;
  return out;
}

beforeAll(() => requirePython());

const encrypt = { 'seed-v0': encryptSeedV0, 'noah-v1': encryptNoahV1 } as const;
const decrypt = { 'seed-v0': decryptSeedV0, 'noah-v1': decryptNoahV1 } as const;

for (const format of ['seed-v0', 'noah-v1'] as const) {
  describe(`${format} against Python`, () => {
    for (const [p, phrase] of PHRASES.entries()) {
      // noah-v1 costs 600k PBKDF2 iterations per operation on each side: fewer cases.
      const sizes = format === 'noah-v1' && p === 0 ? [17] : SIZES[format];
      for (const n of sizes) {
        it(`Python encrypts, we decrypt (phrase ${p}, ${n} bytes)`, async () => {
          const r = runPython('encrypt', format, phrase, pattern(n));
          expect(r.status, r.stderr).toBe(0);
          expect(await decrypt[format](r.output!, phrase)).toEqual(pattern(n));
        });

        it(`we encrypt, Python decrypts (phrase ${p}, ${n} bytes)`, async () => {
          const blob = await encrypt[format](pattern(n), phrase);
          const r = runPython('decrypt', format, phrase, blob);
          expect(r.status, r.stderr).toBe(0);
          expect(r.output).toEqual(pattern(n));
        });
      }
    }

    it('produces identical bytes for the same IV and salt', async () => {
      const iv = pattern(12);
      const salt = pattern(16).reverse();
      const random = (k: number) => (k === 16 ? Uint8Array.from(salt) : Uint8Array.from(iv));
      const ours = await encrypt[format](pattern(100), PHRASES[1]!, { random });
      const extra = ['--iv', Buffer.from(iv).toString('hex')];
      if (format === 'noah-v1') extra.push('--salt', Buffer.from(salt).toString('hex'));
      const theirs = runPython('encrypt', format, PHRASES[1]!, pattern(100), extra);
      expect(theirs.status, theirs.stderr).toBe(0);
      expect(bytesToUtf8(theirs.output!)).toBe(bytesToUtf8(ours));
    });

    it('Python rejects our blob under another seedphrase, and a tampered blob', async () => {
      const blob = await encrypt[format](pattern(10), PHRASES[0]!);
      expect(runPython('decrypt', format, 'wrong words', blob).status).toBe(1);
      const text = bytesToUtf8(blob);
      const i = text.length - 8;
      const swapped = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
      expect(runPython('decrypt', format, PHRASES[0]!, utf8ToBytes(swapped)).status).toBe(1);
    });
  });
}
