/**
 * The contract of `DeviceCacheStore` (`src/ports.ts`) as a kit, run on every platform's
 * store, and of the sealing around it (`pipelines/cache.ts`): a cache that is tampered
 * with, truncated or another seedphrase's loads as missing. Platform-neutral.
 * @module
 */
import { createKeyring } from '@noah-backup/core/keys';
import { createDigester } from '@noah-backup/core/incremental';
import { decryptV2Bytes, encryptV2Bytes } from '@noah-backup/core/v2';
import { describe, expect, it } from 'vitest';
import { type DeviceCache, loadCache, saveCache } from '../../src/pipelines/cache.ts';
import { silentLogger } from '../../src/logger.ts';
import type { DeviceCacheStore } from '../../src/ports.ts';

const WORDS_A =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const WORDS_B = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

/** A small cache of one database of 3 pages. */
async function sample(seedWords: string): Promise<{ cache: DeviceCache; words: string }> {
  const keyring = await createKeyring(seedWords);
  const d = createDigester(keyring.digestKey());
  const pages = new Uint8Array(3 * 512).map((_, i) => i % 251);
  const pds = await d.pages(pages, 512);
  keyring.destroy();
  return {
    words: seedWords,
    cache: {
      identity: {
        s3_key: 'b/manifest',
        sha256: '00'.repeat(32),
        backup_version: 1,
        created_at: '2026-12-01T00:00:00.000Z',
        backup_size: 200,
        sequence: '7',
      },
      manifest: {
        packs: [{ key: 'b/pack', size: 2000, sha256: new Uint8Array(32), plainSize: 1536 }],
        entries: [
          {
            type: 'database',
            path: 'w.db',
            pageSize: 512,
            pageCount: 3,
            digest: d.database(512, pds),
            runs: [{ count: 3, pack: 0, offset: 0 }],
          },
        ],
      },
      pages: new Map([['w.db', pds]]),
    },
  };
}

/**
 * Runs the contract on one implementation.
 * @param name - the implementation, e.g. "Node (a file beside the state)"
 * @param factory - a fresh, empty store per test
 */
export function deviceCacheContract(
  name: string,
  factory: () => DeviceCacheStore | Promise<DeviceCacheStore>,
): void {
  describe(`DeviceCacheStore contract: ${name}`, () => {
    it('a missing cache is null; clearing it does nothing', async () => {
      const s = await factory();
      expect(await s.load()).toBeNull();
      await s.clear();
      expect(await s.load()).toBeNull();
    });

    it('saves, replaces and clears the blob verbatim', async () => {
      const s = await factory();
      await s.save(Uint8Array.of(1, 2, 3));
      expect(await s.load()).toEqual(Uint8Array.of(1, 2, 3));
      const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
      await s.save(big);
      expect(await s.load()).toEqual(big);
      await s.clear();
      expect(await s.load()).toBeNull();
    });

    it('a sealed cache opens under its seedphrase with what was saved', async () => {
      const s = await factory();
      const { cache, words } = await sample(WORDS_A);
      const keyring = await createKeyring(words);
      await saveCache(s, keyring, cache, new Date());
      const loaded = await loadCache(s, keyring, silentLogger);
      keyring.destroy();
      expect(loaded?.identity).toEqual(cache.identity);
      expect(loaded?.manifest).toEqual(cache.manifest);
      expect(loaded?.pages.get('w.db')).toEqual(cache.pages.get('w.db'));
    });

    it('a cache of several v2 chunks of digests is sealed uncompressed and opens exactly', async () => {
      const s = await factory();
      const { cache, words } = await sample(WORDS_A);
      // 40,000 pages: 640,000 bytes of digests, three 256 KiB v2 chunks.
      const db = cache.manifest.entries[0]! as Extract<
        DeviceCache['manifest']['entries'][number],
        { type: 'database' }
      >;
      const digests = new Uint8Array(40_000 * 16).map((_, i) => (i * 7) % 251);
      const wide: DeviceCache = {
        ...cache,
        manifest: {
          packs: [{ ...cache.manifest.packs[0]!, plainSize: 40_000 * 512 }],
          entries: [{ ...db, pageCount: 40_000, runs: [{ count: 40_000, pack: 0, offset: 0 }] }],
        },
        pages: new Map([['w.db', digests]]),
      };
      const keyring = await createKeyring(words);
      try {
        await saveCache(s, keyring, wide, new Date());
        const sealed = (await s.load())!;
        const { header } = await decryptV2Bytes(sealed, { key: keyring.v2Key() });
        expect(header.compression).toBe('none');
        const loaded = await loadCache(s, keyring, silentLogger);
        expect(loaded?.manifest).toEqual(wide.manifest);
        expect(loaded?.pages.get('w.db')).toEqual(digests);
      } finally {
        keyring.destroy();
      }
    });

    it('a cache sealed compressed (as earlier versions wrote it) still opens', async () => {
      const s = await factory();
      const { cache, words } = await sample(WORDS_A);
      const keyring = await createKeyring(words);
      try {
        await saveCache(s, keyring, cache, new Date());
        const { plaintext } = await decryptV2Bytes((await s.load())!, { key: keyring.v2Key() });
        const deflated = await encryptV2Bytes(plaintext, {
          key: keyring.v2Key(),
          createdAt: new Date(),
          sequence: 7n,
          payloadKind: 'raw',
        });
        await s.save(deflated);
        expect((await decryptV2Bytes(deflated, { key: keyring.v2Key() })).header.compression).toBe(
          'deflate',
        );
        const loaded = await loadCache(s, keyring, silentLogger);
        expect(loaded?.manifest).toEqual(cache.manifest);
        expect(loaded?.pages.get('w.db')).toEqual(cache.pages.get('w.db'));
      } finally {
        keyring.destroy();
      }
    });

    it('a tampered, truncated or foreign cache loads as missing', async () => {
      const s = await factory();
      const { cache } = await sample(WORDS_A);
      const a = await createKeyring(WORDS_A);
      const b = await createKeyring(WORDS_B);
      try {
        await saveCache(s, a, cache, new Date());
        const sealed = (await s.load())!;
        expect(await loadCache(s, b, silentLogger)).toBeNull(); // another seedphrase
        const flipped = sealed.slice();
        flipped[flipped.length - 20]! ^= 1;
        await s.save(flipped);
        expect(await loadCache(s, a, silentLogger)).toBeNull();
        await s.save(sealed.subarray(0, sealed.length - 1));
        expect(await loadCache(s, a, silentLogger)).toBeNull();
        await s.save(sealed);
        expect(await loadCache(s, a, silentLogger)).not.toBeNull();
      } finally {
        a.destroy();
        b.destroy();
      }
    });
  });
}
