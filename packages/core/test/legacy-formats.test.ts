import { createCipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToUtf8, concatBytes, utf8ToBytes } from '../src/bytes.ts';
import { DecryptionError, NotABackupError } from '../src/errors.ts';
import { detectFormat } from '../src/format.ts';
import {
  createSeedV0KeyCache,
  decodeLegacyText,
  decryptNoahV1,
  decryptSeedV0,
  deriveSeedV0Key,
  encryptNoahV1,
  encryptSeedV0,
  inspectLegacy,
  legacyPassword,
} from '../src/legacy.ts';

const PHRASE =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const UNICODE_PHRASE = '  çà et là 日本語 🔑 phrase\n';

/** A RandomBytes that returns the given bytes in order (fixed IV and salt for vectors). */
function fixedRandom(...chunks: Uint8Array[]) {
  const queue = [...chunks];
  return (n: number) => {
    const next = queue.shift();
    if (!next || next.length !== n) throw new Error(`unexpected random(${n})`);
    return Uint8Array.from(next);
  };
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** The formula from FORMAT.md §3/§4 written with node:crypto, independently of legacy.ts. */
function referenceEncrypt(
  format: 'seed-v0' | 'noah-v1',
  plaintext: Uint8Array,
  password: string,
  iv: Uint8Array,
  salt?: Uint8Array,
): string {
  const pw = Buffer.from(password, 'utf8');
  const s = format === 'seed-v0' ? createHash('sha256').update(pw).digest().subarray(0, 16) : salt!;
  const key = pbkdf2Sync(pw, s, format === 'seed-v0' ? 10_000 : 600_000, 32, 'sha256');
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  const head = format === 'seed-v0' ? [iv] : [Buffer.of(1), s, iv];
  return Buffer.concat([...head, body]).toString('base64');
}

const ascii = (s: string) => utf8ToBytes(s);
const text = (b: Uint8Array) => bytesToUtf8(b);

describe('seed-v0', () => {
  it('matches the FORMAT.md §3 formula byte for byte (node:crypto reference)', async () => {
    const iv = bytes(12, 7);
    for (const n of [0, 1, 15, 16, 17, 1000]) {
      const pt = bytes(n);
      const out = await encryptSeedV0(pt, PHRASE, { random: fixedRandom(iv) });
      expect(text(out)).toBe(referenceEncrypt('seed-v0', pt, PHRASE, iv));
      expect(await decryptSeedV0(out, PHRASE)).toEqual(pt);
    }
  });

  it('uses the seedphrase exactly as given after trimming, with no normalisation', async () => {
    const out = await encryptSeedV0(bytes(40), UNICODE_PHRASE);
    expect(await decryptSeedV0(out, UNICODE_PHRASE.trim())).toEqual(bytes(40));
    expect(await decryptSeedV0(out, `\u3000${UNICODE_PHRASE}\u00a0`)).toEqual(bytes(40));
    // NFD instead of NFC is a different password: no NFKD, unlike BIP39.
    await expect(decryptSeedV0(out, UNICODE_PHRASE.normalize('NFD'))).rejects.toThrow(
      DecryptionError,
    );
    // Inner whitespace is kept.
    const plain = await encryptSeedV0(bytes(3), 'a b');
    await expect(decryptSeedV0(plain, 'a  b')).rejects.toThrow(DecryptionError);
  });

  it('derives the documented key', async () => {
    const pw = Buffer.from(UNICODE_PHRASE.trim(), 'utf8');
    const salt = createHash('sha256').update(pw).digest().subarray(0, 16);
    const expected = pbkdf2Sync(pw, salt, 10_000, 32, 'sha256');
    expect(await deriveSeedV0Key(UNICODE_PHRASE)).toEqual(new Uint8Array(expected));
  });

  it('draws a fresh IV per backup', async () => {
    const a = await encryptSeedV0(bytes(10), PHRASE);
    const b = await encryptSeedV0(bytes(10), PHRASE);
    expect(text(a)).not.toBe(text(b));
  });

  it('rejects a wrong seedphrase and every flipped bit with one opaque DecryptionError', async () => {
    const out = await encryptSeedV0(bytes(5), PHRASE, { random: fixedRandom(bytes(12, 9)) });
    const err = await decryptSeedV0(out, `${PHRASE} x`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecryptionError);
    expect((err as Error).message).not.toContain('abandon');
    const blob = decodeLegacyText(out);
    for (let i = 0; i < blob.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Uint8Array.from(blob);
        bad[i]! ^= bit;
        const enc = ascii(Buffer.from(bad).toString('base64'));
        await expect(decryptSeedV0(enc, PHRASE), `byte ${i}`).rejects.toThrow(DecryptionError);
      }
    }
  });

  it('rejects truncation and appended bytes', async () => {
    const blob = decodeLegacyText(await encryptSeedV0(bytes(20), PHRASE));
    const shorter = ascii(Buffer.from(blob.subarray(0, -1)).toString('base64'));
    const longer = ascii(Buffer.from(concatBytes(blob, Uint8Array.of(0))).toString('base64'));
    await expect(decryptSeedV0(shorter, PHRASE)).rejects.toThrow(DecryptionError);
    await expect(decryptSeedV0(longer, PHRASE)).rejects.toThrow(DecryptionError);
  });

  it('rejects a blob too short to hold IV and tag as not a backup', async () => {
    const short = ascii(Buffer.from(bytes(27)).toString('base64'));
    const err = await decryptSeedV0(short, PHRASE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotABackupError);
    expect(err).not.toBeInstanceOf(DecryptionError);
  });

  it('caches the derived key per seedphrase and wipes it on destroy', async () => {
    const cache = createSeedV0KeyCache();
    const out = await encryptSeedV0(bytes(8), PHRASE, { keyCache: cache });
    const key = await cache.get(PHRASE);
    expect(await cache.get(PHRASE)).toBe(key);
    expect(key).toEqual(await deriveSeedV0Key(PHRASE));
    expect(await decryptSeedV0(out, PHRASE, { keyCache: cache })).toEqual(bytes(8));
    cache.destroy();
    expect(key.every((b) => b === 0)).toBe(true);
    expect(() => cache.get(PHRASE)).toThrow(/destroyed/);
  });

  it('validates its arguments', async () => {
    await expect(encryptSeedV0(bytes(1), ' \n\t ')).rejects.toThrow(RangeError);
    await expect(encryptSeedV0('x' as unknown as Uint8Array, PHRASE)).rejects.toThrow(TypeError);
    await expect(decryptSeedV0(bytes(1), 5 as unknown as string)).rejects.toThrow(TypeError);
    await expect(
      encryptSeedV0(bytes(1), PHRASE, { random: () => new Uint8Array(11) }),
    ).rejects.toThrow(RangeError);
  });
});

describe('legacy base64 text (FORMAT.md §3.3)', () => {
  const ok = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g'; // 33 bytes

  it('accepts standard padded base64 with trailing whitespace only', () => {
    expect(decodeLegacyText(ascii(ok))).toHaveLength(33);
    expect(decodeLegacyText(ascii(`${ok}\n`))).toHaveLength(33);
    expect(decodeLegacyText(ascii(`${ok}\r\n \t`))).toHaveLength(33);
    expect(decodeLegacyText(ascii('AAE='))).toEqual(Uint8Array.of(0, 1));
  });

  it('ignores CR and LF anywhere: line-wrapped text (Android Base64.DEFAULT, MIME)', () => {
    const want = decodeLegacyText(ascii(ok));
    for (const wrapped of [
      `${ok.slice(0, 20)}\n${ok.slice(20)}`,
      `${ok.slice(0, 20)}\r\n${ok.slice(20)}\r\n`,
      `${ok.slice(0, 1)}\n${ok.slice(1, 43)}\r${ok.slice(43)}\n\n`,
      `\n${ok}`,
    ])
      expect(decodeLegacyText(ascii(wrapped)), JSON.stringify(wrapped)).toEqual(want);
  });

  it('detection finds the first decoded byte past line breaks (FORMAT.md §2.1)', () => {
    expect(detectFormat(ascii('A\r\nQID'))).toBe('legacy'); // 0x01 …
    expect(detectFormat(ascii('Ag\nID\n'))).toBe('seed-v0'); // 0x02 …
    expect(() => detectFormat(ascii('A\tQID'))).toThrow(NotABackupError);
  });

  it('rejects junk, missing or wrong padding, non-canonical bits, inner spaces, url alphabet', () => {
    const bad = [
      '',
      '\n',
      '\r\n\r\n',
      ` ${ok}`,
      `${ok.slice(0, 20)}\t${ok.slice(20)}`,
      `${ok.slice(0, 20)} ${ok.slice(20)}`,
      `${ok.slice(0, 40)}\nA=`,
      `AAE\n=\nA`,
      `${ok}!`,
      'AAE',
      'AAE==',
      'AA==AA==',
      'AAF=',
      'AB==',
      '-_8=',
      'AAEC\u00e9',
      '=AAA',
    ];
    for (const b of bad) {
      const err = (() => {
        try {
          decodeLegacyText(ascii(b));
        } catch (e) {
          return e;
        }
      })();
      expect(err, JSON.stringify(b)).toBeInstanceOf(NotABackupError);
      expect((err as Error).message).toBe('not a backup: invalid base64');
    }
  });

  it('rejects a NUL or any byte outside ASCII', () => {
    expect(() => decodeLegacyText(Uint8Array.of(0x41, 0x41, 0x41, 0x00))).toThrow(NotABackupError);
    expect(() => decodeLegacyText(Uint8Array.of(0x41, 0x41, 0x41, 0xc1))).toThrow(NotABackupError);
  });
});

describe('noah-v1', () => {
  it('matches the FORMAT.md §4 formula byte for byte and round-trips sizes 0 and 1000', async () => {
    const salt = bytes(16, 3);
    const iv = bytes(12, 5);
    for (const n of [0, 1000]) {
      const pt = bytes(n);
      const out = await encryptNoahV1(pt, UNICODE_PHRASE, { random: fixedRandom(salt, iv) });
      expect(text(out)).toBe(referenceEncrypt('noah-v1', pt, UNICODE_PHRASE.trim(), iv, salt));
      expect(await decryptNoahV1(ascii(`${text(out)}\n`), UNICODE_PHRASE)).toEqual(pt);
    }
  });

  it('rejects a flipped salt bit, a wrong seedphrase, and a wrong version byte', async () => {
    const out = await encryptNoahV1(bytes(9), PHRASE);
    const blob = decodeLegacyText(out);
    expect(blob[0]).toBe(1);
    const badSalt = Uint8Array.from(blob);
    badSalt[3]! ^= 0x10;
    const b64 = (b: Uint8Array) => ascii(Buffer.from(b).toString('base64'));
    await expect(decryptNoahV1(b64(badSalt), PHRASE)).rejects.toThrow(DecryptionError);
    await expect(decryptNoahV1(out, 'another phrase')).rejects.toThrow(DecryptionError);
    const v2 = Uint8Array.from(blob);
    v2[0] = 2;
    await expect(decryptNoahV1(b64(v2), PHRASE)).rejects.toThrow(NotABackupError);
    await expect(decryptNoahV1(b64(blob.subarray(0, 44)), PHRASE)).rejects.toThrow(NotABackupError);
  });
});

describe('inspectLegacy and legacyPassword', () => {
  it('reports sizes and candidates without a secret', async () => {
    const v0 = await encryptSeedV0(bytes(100), PHRASE, { random: fixedRandom(bytes(12, 2)) });
    expect(inspectLegacy(v0)).toEqual({
      format: 'seed-v0',
      encoding: 'base64',
      candidates: ['seed-v0'],
      encodedLength: 172,
      decodedLength: 128,
      seedV0: { ivLength: 12, tagLength: 16, ciphertextLength: 100 },
      noahV1: null,
    });
    const ambiguous = await encryptSeedV0(bytes(100), PHRASE, {
      random: fixedRandom(Uint8Array.of(1, ...bytes(11))),
    });
    const info = inspectLegacy(ambiguous);
    expect(info.format).toBe('legacy');
    expect(info.candidates).toEqual(['noah-v1', 'seed-v0']);
    expect(info.noahV1?.ciphertextLength).toBe(83);
  });

  it('trims Unicode White_Space only at the ends', () => {
    expect(text(legacyPassword('\u2003 a b \u3000\n'))).toBe('a b');
    expect(text(legacyPassword('\u0085x\u0085'))).toBe('x');
    expect(() => legacyPassword('\u00a0')).toThrow(RangeError);
  });
});
