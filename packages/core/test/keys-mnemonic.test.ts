import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import {
  entropyToMnemonic,
  mnemonicToSeed as scureSeed,
  validateMnemonic as scureValidate,
} from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes.ts';
import { InvalidMnemonicError } from '../src/errors.ts';
import {
  createKeyring,
  deriveV2RootKey,
  mnemonicToSeed,
  normalizeMnemonic,
  V2_ROOT_LABEL,
  validateMnemonic,
} from '../src/keys.ts';

const ABOUT =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
// BIP39 seed of ABOUT with the empty passphrase (the reference vectors' first entry).
const ABOUT_SEED =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1' +
  '9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';
// HKDF-SHA256(seed, salt = "", info = "noah-backup/v2/backup-root", 32), fixed once.
const ABOUT_V2_KEY = '5e22c55e3a28305141c5a45a9afb2bf28776acac9380f21815a10ff79b8c2033';
const LEGAL = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

/** An independent formula: BIP39 seed and v2 root key with node:crypto only. */
function nodeV2Key(mnemonic: string): { seed: string; key: string } {
  const seed = pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512');
  const key = Buffer.from(hkdfSync('sha256', seed, new Uint8Array(0), V2_ROOT_LABEL, 32));
  return { seed: seed.toString('hex'), key: key.toString('hex') };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('normalizeMnemonic / validateMnemonic', () => {
  it('trims, collapses whitespace and applies NFKD', () => {
    expect(normalizeMnemonic(`  ${ABOUT.replaceAll(' ', ' \t\n ')}\n`)).toBe(ABOUT);
    // Full-width letters and the ideographic space are NFKD-equivalent to ASCII.
    const wide = ABOUT.replace(/[a-z]/g, (c) =>
      String.fromCharCode(c.charCodeAt(0) + 0xfee0),
    ).replaceAll(' ', '\u3000');
    expect(wide).not.toBe(ABOUT);
    expect(validateMnemonic(wide)).toBe(ABOUT);
    expect(normalizeMnemonic('')).toBe('');
  });

  it('derives the same seed from NFKD-equivalent inputs', async () => {
    const wide = ABOUT.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    expect(bytesToHex(await mnemonicToSeed(wide))).toBe(ABOUT_SEED);
    expect(bytesToHex(await mnemonicToSeed(`\n${ABOUT}  `))).toBe(ABOUT_SEED);
  });

  it('rejects unknown words, bad checksums and wrong word counts, without echoing words', () => {
    const cases = [
      ABOUT.replace('about', 'zzzzz'), // not in the wordlist
      ABOUT.replace('about', 'abandon'), // checksum
      `${ABOUT.split(' ').slice(1).join(' ')} about`, // 11+1 words reordered: checksum
      ABOUT.split(' ').slice(0, 11).join(' '), // 11 words
      '',
    ];
    for (const m of cases) {
      const err = thrown(() => validateMnemonic(m));
      expect(err, m).toBeInstanceOf(InvalidMnemonicError);
      expect(err.message).not.toMatch(/abandon|about|zzzzz/i);
    }
    expect(thrown(() => validateMnemonic(cases[0]!)).message).toMatch(/word 12 is not in/);
    expect(thrown(() => validateMnemonic(cases[1]!)).message).toMatch(/checksum/);
    expect(thrown(() => validateMnemonic(cases[3]!)).message).toMatch(/got 11/);
    expect(() => validateMnemonic(42 as unknown as string)).toThrow(TypeError);
  });

  it('agrees with @scure/bip39 on valid phrases of every length and on random word lists', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(16, 20, 24, 28, 32)
          .chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        (entropy) => {
          const m = entropyToMnemonic(entropy, wordlist);
          expect(validateMnemonic(m)).toBe(m);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...wordlist), { minLength: 12, maxLength: 12 }),
        (ws) => {
          const m = ws.join(' ');
          const ours = (() => {
            try {
              validateMnemonic(m);
              return true;
            } catch {
              return false;
            }
          })();
          expect(ours).toBe(scureValidate(m, wordlist));
        },
      ),
    );
  });

  it('derives the seed @scure/bip39 derives, for phrases of every length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(16, 20, 24, 28, 32)
          .chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        async (entropy) => {
          const m = entropyToMnemonic(entropy, wordlist);
          expect(bytesToHex(await mnemonicToSeed(`  ${m}\n`))).toBe(
            bytesToHex(await scureSeed(m, '')),
          );
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('keys', () => {
  it('BIP39 seed and v2 root key match independent node:crypto formulas and fixed vectors', async () => {
    expect(nodeV2Key(ABOUT)).toEqual({ seed: ABOUT_SEED, key: ABOUT_V2_KEY });
    const seed = await mnemonicToSeed(ABOUT);
    expect(bytesToHex(seed)).toBe(ABOUT_SEED);
    expect(bytesToHex(deriveV2RootKey(seed))).toBe(ABOUT_V2_KEY);
    const k = await createKeyring(LEGAL);
    expect(bytesToHex(k.v2Key())).toBe(nodeV2Key(LEGAL).key);
    expect(bytesToHex(k.seed())).toBe(nodeV2Key(LEGAL).seed);
    k.destroy();
  });

  it('the v2 key is not the seed, and differs per seedphrase', async () => {
    const a = await createKeyring(ABOUT);
    const b = await createKeyring(LEGAL);
    expect(a.v2Key()).toHaveLength(32);
    expect(bytesToHex(a.v2Key())).not.toBe(bytesToHex(a.seed().subarray(0, 32)));
    expect(bytesToHex(a.v2Key())).not.toBe(bytesToHex(a.seed().subarray(32)));
    expect(bytesToHex(a.v2Key())).not.toBe(bytesToHex(b.v2Key()));
    a.destroy();
    b.destroy();
  });

  it('createKeyring: legacy texts are the canonical phrase, then the text as given', async () => {
    const k = await createKeyring(`  ${ABOUT.replace(' ', '  ')}\n`);
    expect(k.legacySeedphrase).toBe(ABOUT);
    expect(k.legacySeedphrases).toEqual([ABOUT, ABOUT.replace(' ', '  ')]);
    expect(bytesToHex(k.v2Key())).toBe(ABOUT_V2_KEY);
    const plain = await createKeyring(ABOUT);
    expect(plain.legacySeedphrases).toEqual([ABOUT]);
  });

  it('a non-BIP39 passphrase still gives a keyring, whose v2Key() and seed() throw', async () => {
    const k = await createKeyring(' my old passphrase ');
    expect(k.legacySeedphrase).toBe('my old passphrase');
    expect(k.legacySeedphrases).toEqual(['my old passphrase']);
    expect(() => k.v2Key()).toThrow(InvalidMnemonicError);
    expect(() => k.seed()).toThrow(InvalidMnemonicError);
    expect(thrown(() => k.v2Key()).message).not.toMatch(/\bmy\b|\bold\b|passphrase/);
  });

  it('destroy() zeroes the keys and later calls throw', async () => {
    const k = await createKeyring(ABOUT);
    const key = k.v2Key();
    const seed = k.seed();
    k.destroy();
    expect(key.every((b) => b === 0)).toBe(true);
    expect(seed.every((b) => b === 0)).toBe(true);
    expect(() => k.v2Key()).toThrow(/destroyed/);
    expect(() => k.seed()).toThrow(/destroyed/);
  });

  it('deriveV2RootKey checks its argument', () => {
    expect(() => deriveV2RootKey(new Uint8Array(32))).toThrow(RangeError);
    expect(() => deriveV2RootKey('x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
