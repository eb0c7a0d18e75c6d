/**
 * The incremental-backup vectors (docs/FORMAT.md §7, §8): every object reaches its
 * expected outcome through the reader for its kind; every positive re-encrypts to
 * identical bytes with its recorded randomness, decodes to its recorded JSON, and
 * restores from its pack vectors to the recorded files with every digest proved; every
 * negative manifest's plaintext is refused by the decoder alone too; and a one-object
 * reader refuses every incremental object as made by a newer client.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../packages/core/src/bytes.ts';
import { openBackup } from '../packages/core/src/format.ts';
import {
  createDigester,
  createRestoreCheck,
  decodeManifest,
  encryptManifest,
  encryptPack,
  type Manifest,
  type ManifestPack,
  openManifest,
  openPack,
  restorePlan,
  slicePack,
} from '../packages/core/src/incremental/index.ts';
import { createKeyring } from '../packages/core/src/keys.ts';
import { collect, fromBytes } from '../packages/core/src/stream.ts';
import { generate, replayRandom, sha256Hex } from '../scripts/vectors/common.ts';
import type { IncExpect } from '../scripts/vectors/incremental-common.ts';
import {
  type ManifestJson,
  manifestFromJson,
  manifestToJson,
} from '../scripts/vectors/incremental-json.ts';

/** An incremental vector's record (FORMAT.md §7.2). */
interface IncRecord {
  name: string;
  format: 'incremental';
  object: 'manifest' | 'pack' | 'v2';
  expect: IncExpect;
  note: string;
  mnemonic: string;
  blob_file: string;
  blob_length: number;
  blob_sha256: string;
  plaintext_length?: number;
  plaintext_sha256?: string;
  plaintext_hex?: string;
  plaintext_generator?: string;
  random_hex?: string;
  created_at?: string;
  created_at_ms?: number;
  sequence?: string;
  compress?: boolean;
  compression?: 'zstd';
  payload_kind?: 'pack' | 'manifest';
  manifest?: ManifestJson | string;
  pack_vectors?: string[];
  restored?: { path: string; type: string; size: number; sha256: string }[];
  base?: string;
  mutation?: string;
  pack_index?: number;
}

const DIR = join(import.meta.dirname, 'incremental');
const VECTORS = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const record = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as IncRecord;
    return { record, blob: new Uint8Array(readFileSync(join(DIR, record.blob_file))) };
  });
const BY_NAME = new Map(VECTORS.map((v) => [v.record.name, v]));
const MANIFEST_OF = (name: string) =>
  manifestFromJson(BY_NAME.get(name)!.record.manifest as ManifestJson);

/** The pack record a manifest vector gives pack `i`, or a pack vector's own. */
function packRecord(r: IncRecord): ManifestPack {
  if (r.pack_index !== undefined) return MANIFEST_OF(r.manifest as string).packs[r.pack_index]!;
  return {
    key: 'b/x',
    size: r.blob_length,
    sha256: hexToBytes(r.blob_sha256),
    plainSize: r.plaintext_length!,
  };
}

/** Reads a vector as its kind's reader does; the error, if any. */
async function read(r: IncRecord, blob: Uint8Array) {
  const keyring = await createKeyring(r.mnemonic);
  try {
    const source = fromBytes(blob, 4093);
    if (r.object === 'manifest')
      return { ...(await openManifest(source, { key: keyring.v2Key() })) };
    if (r.object === 'pack') {
      const { header, plaintext } = await openPack(source, {
        key: keyring.v2Key(),
        pack: packRecord(r),
      });
      return { header, plaintext: await collect(plaintext) };
    }
    const opened = await openBackup(source, { keyring });
    return { header: opened.header, plaintext: await collect(opened.plaintext) };
  } catch (error) {
    return { error };
  } finally {
    keyring.destroy();
  }
}

describe('incremental vectors: the corpus', () => {
  it('covers every outcome and kind of object, and stays small', () => {
    const outcomes = new Set(VECTORS.map((v) => `${v.record.object}:${v.record.expect}`));
    for (const want of [
      'pack:ok',
      'manifest:ok',
      'manifest:malformed_manifest',
      'manifest:unsupported_version',
      'manifest:limit_exceeded',
      'pack:decryption_failed',
      'v2:unsupported_payload_kind',
    ])
      expect(outcomes, want).toContain(want);
    expect(VECTORS.filter((v) => v.record.expect === 'malformed_manifest').length).toBeGreaterThan(
      40,
    );
    const total = VECTORS.reduce((n, v) => n + v.blob.length, 0);
    expect(total).toBeLessThan(2 ** 20);
  });
});

describe('incremental vectors: read every object', () => {
  for (const { record: r, blob } of VECTORS) {
    it(`${r.object}/${r.name} → ${r.expect}`, async () => {
      expect(blob.length).toBe(r.blob_length);
      expect(sha256Hex(blob)).toBe(r.blob_sha256);
      const got = await read(r, blob);
      if (r.expect !== 'ok') {
        expect((got as { error?: { code?: string } }).error?.code, String(got.error)).toBe(
          r.expect,
        );
        // The decoder alone refuses the recorded plaintext the same way.
        if (r.plaintext_hex !== undefined) {
          const err = (() => {
            try {
              decodeManifest(hexToBytes(r.plaintext_hex!));
            } catch (e) {
              return e;
            }
          })();
          expect((err as { code?: string })?.code).toBe(r.expect);
        }
        return;
      }
      expect(got.error).toBeUndefined();
      const header = got.header!;
      expect(header.payloadKind).toBe(r.payload_kind);
      expect(header.createdAt.toISOString()).toBe(r.created_at);
      expect(header.sequence.toString()).toBe(r.sequence);
      expect(header.compression).toBe(r.compress ? (r.compression ?? 'deflate') : 'none');
      if (r.object === 'manifest') {
        const m = (got as { manifest: Manifest }).manifest;
        expect(manifestToJson(m)).toEqual(r.manifest);
        expect((got as { sha256: Uint8Array }).sha256).toEqual(hexToBytes(r.blob_sha256));
      } else
        expect(sha256Hex((got as { plaintext: Uint8Array }).plaintext)).toBe(r.plaintext_sha256);
      // A one-object reader: made by a newer client, never "damaged".
      const keyring = await createKeyring(r.mnemonic);
      await expect(openBackup(fromBytes(blob), { keyring })).rejects.toMatchObject({
        code: 'unsupported_payload_kind',
      });
      keyring.destroy();
    });
  }
});

describe('incremental vectors: re-encrypt every positive with the recorded randomness', () => {
  for (const { record: r, blob } of VECTORS.filter((v) => v.record.expect === 'ok')) {
    it(`${r.object}/${r.name}`, async () => {
      const keyring = await createKeyring(r.mnemonic);
      const replay = replayRandom(hexToBytes(r.random_hex!));
      const opts = {
        key: keyring.v2Key(),
        createdAt: new Date(r.created_at_ms!),
        sequence: BigInt(r.sequence!),
        ...(r.compress
          ? { compression: r.compression ?? ('deflate' as const) }
          : { compress: false }),
        random: replay.random,
      };
      try {
        let out: Uint8Array;
        if (r.object === 'pack') {
          const plaintext = r.plaintext_hex
            ? hexToBytes(r.plaintext_hex)
            : generate(r.plaintext_generator!, r.plaintext_length!);
          out = await collect(encryptPack(fromBytes(plaintext), opts).stream);
        } else
          out = (await encryptManifest(manifestFromJson(r.manifest as ManifestJson), opts)).bytes;
        replay.done();
        expect(Buffer.compare(out, blob)).toBe(0);
      } finally {
        keyring.destroy();
      }
    });
  }
});

describe('incremental vectors: restore every positive manifest from its pack vectors', () => {
  const manifests = VECTORS.filter(
    (v) => v.record.object === 'manifest' && v.record.expect === 'ok',
  );
  for (const { record: r } of manifests) {
    it(r.name, async () => {
      const keyring = await createKeyring(r.mnemonic);
      try {
        const m = manifestFromJson(r.manifest as ManifestJson);
        const files = new Map<number, Uint8Array>();
        for (const [i, e] of m.entries.entries()) {
          if (e.type === 'file') files.set(i, new Uint8Array(e.size));
          if (e.type === 'database') files.set(i, new Uint8Array(e.pageCount * e.pageSize));
        }
        const check = createRestoreCheck(m, createDigester(keyring.digestKey()));
        for (const p of restorePlan(m)) {
          const pack = BY_NAME.get(r.pack_vectors![p.pack]!)!;
          const { plaintext } = await openPack(fromBytes(pack.blob, 5000), {
            key: keyring.v2Key(),
            pack: p.record,
          });
          for await (const s of slicePack(plaintext, m, p)) {
            files.get(s.piece.entry)!.set(s.data, s.position);
            await check.add(s);
          }
        }
        check.finish();
        const restored = [...files].map(([i, bytes]) => {
          const e = m.entries[i]!;
          return { path: e.path, type: e.type, size: bytes.length, sha256: sha256Hex(bytes) };
        });
        expect(restored).toEqual(r.restored);
      } finally {
        keyring.destroy();
      }
    });
  }
});
