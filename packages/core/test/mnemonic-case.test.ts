/**
 * A seedphrase typed as a phone keyboard types it (a capital first letter, capitals
 * anywhere, stray spaces and line breaks) is the same BIP39 mnemonic: accepted, with the
 * keys of the canonical lower-case phrase (docs/FORMAT.md §5.2). The legacy formats,
 * whose KDF gets text (§3.1), write under the canonical phrase and read with it first,
 * then with the text as given, so no legacy backup made from either becomes unreadable.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, bytesToUtf8, utf8ToBytes } from '../src/bytes.ts';
import { DecryptionError, InvalidMnemonicError } from '../src/errors.ts';
import { decryptBackupBytes, encryptBackupBytes } from '../src/format.ts';
import { createKeyring, mnemonicToSeed, normalizeMnemonic, validateMnemonic } from '../src/keys.ts';
import { decryptNoahV1, decryptSeedV0, encryptNoahV1, encryptSeedV0 } from '../src/legacy.ts';

const ABOUT =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
// The BIP39 reference seed of ABOUT (empty passphrase) and its v2 root key (keys-mnemonic.test.ts).
const ABOUT_SEED =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1' +
  '9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';
const ABOUT_V2_KEY = '5e22c55e3a28305141c5a45a9afb2bf28776acac9380f21815a10ff79b8c2033';

/** As a phone keyboard types it: the first word capitalised, a word in capitals, extra spaces. */
const TYPED = `Abandon abandon ABANDON abandon  abandon abandon abandon abandon abandon abandon abandon About `;
const CREATED = new Date('2026-03-01T04:00:00Z');

describe('a seedphrase typed with capitals or extra spaces', () => {
  it('validates to the canonical lower-case phrase', () => {
    expect(validateMnemonic(TYPED)).toBe(ABOUT);
    expect(normalizeMnemonic(' ABANDON\tAbout\n')).toBe('abandon about');
    // Full-width capitals are NFKD-equivalent to ASCII ones, then folded.
    const wide = ABOUT.toUpperCase().replace(/[A-Z]/g, (c) =>
      String.fromCharCode(c.charCodeAt(0) + 0xfee0),
    );
    expect(validateMnemonic(wide)).toBe(ABOUT);
  });

  it('derives exactly the keys of the canonical phrase', async () => {
    expect(bytesToHex(await mnemonicToSeed(TYPED))).toBe(ABOUT_SEED);
    const k = await createKeyring(TYPED);
    expect(bytesToHex(k.v2Key())).toBe(ABOUT_V2_KEY);
    expect(bytesToHex(k.seed())).toBe(ABOUT_SEED);
    k.destroy();
  });

  it('still refuses what is not a BIP39 phrase once folded, without echoing it', () => {
    for (const m of [TYPED.replace('About', 'Zzzzz'), TYPED.replace('About', 'Abandon')]) {
      expect(() => validateMnemonic(m)).toThrow(InvalidMnemonicError);
      try {
        validateMnemonic(m);
      } catch (e) {
        expect((e as Error).message).not.toMatch(/abandon|about|zzzzz/i);
      }
    }
  });

  it('reads and writes v2 backups across the two spellings', async () => {
    const typed = await createKeyring(TYPED);
    const plain = await createKeyring(ABOUT);
    const data = utf8ToBytes('wallet bytes');
    const file = await encryptBackupBytes(data, {
      keyring: typed,
      createdAt: CREATED,
      sequence: 1,
    });
    expect(bytesToUtf8((await decryptBackupBytes(file, { keyring: plain })).plaintext)).toBe(
      'wallet bytes',
    );
  });
});

describe('the legacy formats: the canonical phrase first, then the text as given', () => {
  const data = utf8ToBytes('legacy payload');

  it('the keyring writes under the canonical phrase when the text is a BIP39 phrase', async () => {
    const k = await createKeyring(TYPED);
    expect(k.legacySeedphrase).toBe(ABOUT);
    expect(k.legacySeedphrases).toEqual([ABOUT, TYPED.trim()]);
    for (const format of ['seed-v0', 'noah-v1'] as const) {
      const text = await encryptBackupBytes(data, { format, keyring: k, createdAt: CREATED });
      // What Noah's apps hold is the wallet's own phrase: lower case, single spaces.
      const opened =
        format === 'seed-v0' ? await decryptSeedV0(text, ABOUT) : await decryptNoahV1(text, ABOUT);
      expect(bytesToUtf8(opened)).toBe('legacy payload');
    }
  });

  it('a phrase that is not BIP39 is used as given, trimmed, and nothing else', async () => {
    const k = await createKeyring('  My Old  Passphrase \n');
    expect(k.legacySeedphrase).toBe('My Old  Passphrase');
    expect(k.legacySeedphrases).toEqual(['My Old  Passphrase']);
  });

  it.each(['seed-v0', 'noah-v1'] as const)(
    '%s: opens backups made from either spelling, and one error when neither fits',
    async (format) => {
      const encrypt = format === 'seed-v0' ? encryptSeedV0 : encryptNoahV1;
      const typed = await createKeyring(TYPED);
      // Made by Noah's apps (the stored lower-case phrase) or by this library now.
      const canonical = await encrypt(data, ABOUT);
      // Made earlier from the text exactly as typed (the legacy KDF takes text).
      const asTyped = await encrypt(data, TYPED);
      for (const file of [canonical, asTyped]) {
        const out = await decryptBackupBytes(file, { keyring: typed });
        expect(out.format).toBe(format);
        expect(bytesToUtf8(out.plaintext)).toBe('legacy payload');
      }
      // The lower-case phrase alone does not open what was made from other text.
      const plain = await createKeyring(ABOUT);
      await expect(decryptBackupBytes(asTyped, { keyring: plain })).rejects.toBeInstanceOf(
        DecryptionError,
      );
      const stranger = await encrypt(data, 'legal winner thank year wave sausage worth useful');
      await expect(decryptBackupBytes(stranger, { keyring: typed })).rejects.toThrow(
        new DecryptionError().message,
      );
    },
  );
});
