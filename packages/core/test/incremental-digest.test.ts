/**
 * The digest key and the keyed digests of incremental backups (FORMAT.md §5.2, §8.3),
 * against an independent formula written with node:crypto alone.
 */
import { createHmac, hkdfSync, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes } from '../src/bytes.ts';
import { InvalidMnemonicError } from '../src/errors.ts';
import { createDigester } from '../src/incremental/digest.ts';
import { createKeyring, DIGEST_LABEL, deriveDigestKey, mnemonicToSeed } from '../src/keys.ts';
import { fromBytes } from '../src/stream.ts';
import { payload } from './v2-helpers.ts';

const LEGAL = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

function nodeDigestKey(mnemonic: string): Buffer {
  const seed = pbkdf2Sync(mnemonic, 'mnemonic', 2048, 64, 'sha512');
  return Buffer.from(hkdfSync('sha256', seed, new Uint8Array(0), DIGEST_LABEL, 32));
}

const mac = (key: Uint8Array, ...parts: Uint8Array[]) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

describe('digest key (FORMAT.md §5.2)', () => {
  it('is HKDF-SHA-256(seed, "", "noah-backup/incremental/digest"), apart from the v2 key', async () => {
    expect(DIGEST_LABEL).toBe('noah-backup/incremental/digest');
    const keyring = await createKeyring(LEGAL);
    try {
      expect(bytesToHex(keyring.digestKey())).toBe(nodeDigestKey(LEGAL).toString('hex'));
      expect(deriveDigestKey(await mnemonicToSeed(LEGAL))).toEqual(keyring.digestKey());
      expect(keyring.digestKey()).not.toEqual(keyring.v2Key());
    } finally {
      keyring.destroy();
    }
  });

  it('is wiped by destroy(), and refused for a seedphrase that is not BIP39', async () => {
    const keyring = await createKeyring(LEGAL);
    const key = keyring.digestKey();
    keyring.destroy();
    expect(key).toEqual(new Uint8Array(32));
    expect(() => keyring.digestKey()).toThrow(/destroyed/);
    const bad = await createKeyring('not a seedphrase');
    expect(() => bad.digestKey()).toThrow(InvalidMnemonicError);
    expect(() => deriveDigestKey(new Uint8Array(32))).toThrow(RangeError);
  });
});

describe('digests (FORMAT.md §8.3)', () => {
  const key = payload(32, 21);
  const d = createDigester(key);

  it('page digest: HMAC-SHA-256(digest_key, page)[0..16), page by page', async () => {
    for (const pageSize of [512, 4096, 65536]) {
      const pages = payload(3 * pageSize, pageSize);
      const got = await d.pages(pages, pageSize);
      const want = [0, 1, 2].map((i) =>
        mac(key, pages.subarray(i * pageSize, (i + 1) * pageSize)).subarray(0, 16),
      );
      expect(got).toEqual(concatBytes(...want));
    }
  });

  it('file digest: HMAC-SHA-256(digest_key, content), however the content is cut', async () => {
    const content = payload(100_001, 4);
    for (const size of [1, 4093, 65536, 200_000])
      expect(await d.file(fromBytes(content, size))).toEqual(mac(key, content));
    expect(await d.file(fromBytes(new Uint8Array(0)))).toEqual(mac(key));
  });

  it('database digest: over "noah-backup db", page size, page count and the page digests', async () => {
    const pages = payload(5 * 1024, 8);
    const pds = await d.pages(pages, 1024);
    const header = Uint8Array.of(0, 0, 4, 0, 0, 0, 0, 5);
    const want = mac(key, new TextEncoder().encode('noah-backup db'), header, pds);
    expect(d.database(1024, pds)).toEqual(want);
    // Another page size or one page digest changed: another digest.
    expect(d.database(2048, pds)).not.toEqual(want);
    const other = pds.slice();
    other[40]! ^= 1;
    expect(d.database(1024, other)).not.toEqual(want);
  });

  it('checks its arguments', async () => {
    expect(() => createDigester(new Uint8Array(16))).toThrow(RangeError);
    await expect(d.pages(new Uint8Array(4096), 4000)).rejects.toThrow(RangeError);
    await expect(d.pages(new Uint8Array(4096), 256)).rejects.toThrow(RangeError);
    await expect(d.pages(new Uint8Array(4097), 4096)).rejects.toThrow(RangeError);
    expect(() => d.database(4096, new Uint8Array(0))).toThrow(RangeError);
    expect(() => d.database(4096, new Uint8Array(17))).toThrow(RangeError);
    expect(() => d.database(131072, new Uint8Array(16))).toThrow(RangeError);
  });

  it('a key copied: wiping the caller’s buffer changes nothing', async () => {
    const k = payload(32, 22);
    const digester = createDigester(k);
    const want = mac(payload(32, 22), new Uint8Array(512)).subarray(0, 16);
    k.fill(0);
    expect(await digester.pages(new Uint8Array(512), 512)).toEqual(want);
  });
});
