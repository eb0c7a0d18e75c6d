/**
 * The binary form of noah-v1 (docs/FORMAT.md §2.1, §4.4): the file Noah's Export button
 * saves is the blob itself, not its base64 text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, LimitExceededError, NotABackupError } from '../src/errors.ts';
import {
  decryptBackupBytes,
  detectFormat,
  encryptBackupBytes,
  inspectBackup,
} from '../src/format.ts';
import { createKeyring, type Keyring } from '../src/keys.ts';
import { decodeLegacyText } from '../src/legacy-text.ts';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const CREATED = new Date('2026-03-01T04:00:00.123Z');
let keyring: Keyring;
let other: Keyring;
/** A binary noah-v1 file of 300 bytes of plaintext, as Noah's Export writes it. */
let binary: Uint8Array;
const plaintext = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff);

beforeAll(async () => {
  keyring = await createKeyring(MNEMONIC);
  other = await createKeyring(
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  );
  const text = await encryptBackupBytes(plaintext, {
    format: 'noah-v1',
    keyring,
    createdAt: CREATED,
  });
  binary = decodeLegacyText(text);
});

describe('binary noah-v1', () => {
  it('is detected from its first byte, which no other format starts with', () => {
    expect(binary[0]).toBe(0x01);
    expect(detectFormat(binary.subarray(0, 8))).toBe('noah-v1');
    expect(detectFormat(Uint8Array.of(0x01))).toBe('noah-v1');
  });

  it('decrypts as noah-v1, the same plaintext as its base64 form', async () => {
    const out = await decryptBackupBytes(binary, { keyring });
    expect(out.format).toBe('noah-v1');
    expect(out.plaintext).toEqual(plaintext);
  });

  it('is described without a key: certainly noah-v1, binary', () => {
    expect(inspectBackup(binary)).toMatchObject({
      format: 'noah-v1',
      encoding: 'binary',
      candidates: ['noah-v1'],
      decodedLength: 345,
      noahV1: { ciphertextLength: 300 },
    });
  });

  it('fails authentication under another seedphrase, or with a byte appended or flipped', async () => {
    await expect(decryptBackupBytes(binary, { keyring: other })).rejects.toThrow(DecryptionError);
    const longer = Uint8Array.of(...binary, 0x0a);
    await expect(decryptBackupBytes(longer, { keyring })).rejects.toThrow(DecryptionError);
    const flipped = Uint8Array.from(binary);
    flipped[100]! ^= 1;
    await expect(decryptBackupBytes(flipped, { keyring })).rejects.toThrow(DecryptionError);
  });

  it('is not a backup when shorter than version, salt, IV and tag', async () => {
    const err = await decryptBackupBytes(binary.subarray(0, 44), { keyring }).catch((e) => e);
    expect(err).toBeInstanceOf(NotABackupError);
    expect(() => inspectBackup(binary.subarray(0, 44))).toThrow(NotABackupError);
  });

  it('is capped before any key is derived', async () => {
    await expect(decryptBackupBytes(binary, { keyring, maxPlaintextBytes: 299 })).rejects.toThrow(
      LimitExceededError,
    );
    const ok = await decryptBackupBytes(binary, { keyring, maxPlaintextBytes: 300 });
    expect(ok.plaintext).toEqual(plaintext);
  });
});
