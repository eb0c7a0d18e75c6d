/**
 * Negative manifest vectors (docs/FORMAT.md §8.6, §7): manifest objects whose plaintext
 * breaks one MUST-reject rule each (where a rule cannot be broken alone, the note says
 * what else follows). Every object is genuine, encrypted under the vectors' key, so only
 * the rule named fails. (Object-level negatives are in incremental.ts.)
 * @module
 */
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../../packages/core/src/bytes.ts';
import { writeManifestFields } from '../../packages/core/src/incremental/manifest.ts';
import type { Manifest, ManifestEntry } from '../../packages/core/src/incremental/types.ts';
import type { Keyring } from '../../packages/core/src/keys.ts';
import { encryptV2Bytes } from '../../packages/core/src/v2/encrypt.ts';
import { CREATED_AT, seededRandom, sha256Hex } from './common.ts';
import { type IncExpect, type IncVector, keyOf, recordHead } from './incremental-common.ts';

type Edit = (m: Manifest) => void;

/** Finds `needle` in `hay`, exactly once. */
function find(hay: Uint8Array, needle: Uint8Array): number {
  const hex = bytesToHex(hay);
  const n = bytesToHex(needle);
  const i = hex.indexOf(n);
  if (i < 0 || i % 2 || hex.indexOf(n, i + 1) >= 0) throw new Error(`needle ${n} not found once`);
  return i / 2;
}

/** Replaces `length` bytes at `at` with `by`. */
const splice = (b: Uint8Array, at: number, length: number, by: Uint8Array) =>
  concatBytes(b.subarray(0, at), by, b.subarray(at + length));

/**
 * The manifests that break one rule each, from `base` (inc-manifest-1) or built to reach
 * a limit.
 */
export async function incrementalNegatives(keyring: Keyring, base: Manifest): Promise<IncVector[]> {
  const out: IncVector[] = [];
  const good = writeManifestFields(base);
  const entry = (m: Manifest, path: string) => m.entries.find((e) => e.path === path)! as never;
  const db2 = (m: Manifest) => entry(m, 'db2') as Extract<ManifestEntry, { type: 'database' }>;
  const wallet = (m: Manifest) =>
    entry(m, 'data/sub/wallet.sqlite') as Extract<ManifestEntry, { type: 'database' }>;
  const config = (m: Manifest) => entry(m, 'data/config.json') as { pack: number; offset: number };
  const empty = (m: Manifest) => entry(m, 'data/empty') as { pack: number; offset: number };
  const last = (m: Manifest) => m.entries[m.entries.length - 1]!;

  async function manifestObject(
    name: string,
    expect: IncExpect,
    plaintext: Uint8Array,
    mutation: string,
  ) {
    const { random } = seededRandom(name);
    const big = plaintext.length > 65_536;
    const blob = await encryptV2Bytes(plaintext, {
      key: keyring.v2Key(),
      createdAt: CREATED_AT,
      sequence: 8n,
      payloadKind: 'manifest',
      ...(big ? { compression: 'zstd' as const } : { compress: false }),
      random,
    });
    out.push({
      name,
      blob,
      record: {
        ...recordHead(name, 'manifest', expect, mutation, blob),
        base: 'inc-manifest-1',
        mutation,
        plaintext_length: plaintext.length,
        plaintext_sha256: sha256Hex(plaintext),
        ...(plaintext.length <= 4096 ? { plaintext_hex: bytesToHex(plaintext) } : {}),
      },
    });
  }
  const bytes = (suffix: string, expect: IncExpect, plaintext: Uint8Array, mutation: string) =>
    manifestObject(`inc-manifest-${suffix}`, expect, plaintext, mutation);
  const edited = (suffix: string, edit: Edit, mutation: string) => {
    const m = structuredClone(base);
    edit(m);
    return bytes(suffix, 'malformed_manifest', writeManifestFields(m), mutation);
  };

  // Header, varints, framing.
  await bytes('magic', 'malformed_manifest', splice(good, 0, 1, utf8ToBytes('X')), 'magic "XBMF"');
  await bytes(
    'version-2',
    'unsupported_version',
    splice(good, 4, 1, Uint8Array.of(2)),
    'version 2',
  );
  await bytes('flags', 'malformed_manifest', splice(good, 5, 1, Uint8Array.of(1)), 'flags 0x01');
  await bytes(
    'varint-not-minimal',
    'malformed_manifest',
    splice(good, 6, 1, hexToBytes('8300')),
    'pack_count 3 written as 83 00',
  );
  const size = find(good, utf8ToBytes('data/config.json')) + 16; // config.json's size, 700 = bc 05
  await bytes(
    'varint-10-bytes',
    'malformed_manifest',
    splice(good, size, 2, hexToBytes('bc858080808080808000')),
    'a file size written in 10 bytes (bc 85 80 … 80 00)',
  );
  await bytes(
    'varint-above-2-53',
    'malformed_manifest',
    splice(good, size, 2, hexToBytes('8080808080808010')),
    'a file size of 2^53 (minimal, 8 bytes; past its pack too, but the varint rule comes first)',
  );
  await bytes(
    'truncated',
    'malformed_manifest',
    good.subarray(0, good.length - 1),
    'last byte removed: ends inside the last offset varint',
  );
  await bytes(
    'trailing-byte',
    'malformed_manifest',
    concatBytes(good, Uint8Array.of(0)),
    'one zero byte after the last entry',
  );
  await bytes(
    'entry-type-4',
    'malformed_manifest',
    splice(good, find(good, hexToBytes('010464617461')), 1, Uint8Array.of(4)),
    'entry type 4 for the directory "data"',
  );

  // Limits, each reached by a manifest otherwise valid.
  const packs = Array.from({ length: 65_537 }, (_, i) => ({
    key: `p/${i.toString(36)}`,
    size: 108,
    sha256: new Uint8Array(32),
    plainSize: 512,
  }));
  await bytes(
    'too-many-packs',
    'malformed_manifest',
    writeManifestFields({
      packs,
      entries: [
        {
          type: 'database',
          path: 'db',
          pageSize: 512,
          pageCount: 65_537,
          digest: new Uint8Array(32),
          runs: packs.map((_, i) => ({ count: 1, pack: i, offset: 0 })),
        },
      ],
    }),
    '65,537 packs, each holding one page of one database',
  );
  await bytes(
    'too-many-entries',
    'malformed_manifest',
    writeManifestFields({
      packs: [],
      entries: Array.from({ length: 100_001 }, (_, i) => ({
        type: 'directory' as const,
        path: `d${String(i).padStart(6, '0')}`,
      })),
    }),
    '100,001 directories',
  );
  const count = 2 ** 31 + 1;
  await bytes(
    'page-count-2-31-plus-1',
    'malformed_manifest',
    writeManifestFields({
      packs: [{ key: 'p/0', size: 108, sha256: new Uint8Array(32), plainSize: count * 512 }],
      entries: [
        {
          type: 'database',
          path: 'db',
          pageSize: 512,
          pageCount: count,
          digest: new Uint8Array(32),
          runs: [{ count, pack: 0, offset: 0 }],
        },
      ],
    }),
    'a database of 2^31 + 1 pages in one run',
  );
  const name = (i: number) => `d${String(i).padStart(5, '0')}${'x'.repeat(4090)}`;
  await bytes(
    'too-large',
    'limit_exceeded',
    writeManifestFields({
      packs: [],
      entries: Array.from({ length: 16_400 }, (_, i) => ({
        type: 'directory' as const,
        path: name(i),
      })),
    }),
    '16,400 directories with 4,096-byte names: 67.2 MB of plaintext, over the 64 MiB cap',
  );

  // Packs.
  await edited('key-empty', (m) => (m.packs[0]!.key = ''), 'pack 0: key of 0 bytes');
  await edited(
    'key-129-bytes',
    (m) => (m.packs[0]!.key = `b/${'k'.repeat(127)}`),
    'pack 0: key of 129 bytes',
  );
  await edited('key-space', (m) => (m.packs[0]!.key = 'b/a b'), 'pack 0: key with a space');
  await edited(
    'key-not-ascii',
    (m) => (m.packs[0]!.key = 'b/\u00ff'),
    'pack 0: key with the byte 0xff',
  );
  await edited(
    'key-duplicate',
    (m) => (m.packs[2]!.key = m.packs[0]!.key),
    'pack 2: the key of pack 0',
  );
  await edited(
    'pack-size-107',
    (m) => (m.packs[0]!.size = 107),
    'pack 0: size 107, below the smallest v2 file',
  );
  await edited(
    'pack-size-not-v2',
    (m) => (m.packs[0]!.size = 92 + 262_160 + 16),
    'pack 0: size 262,268, no v2 file size (§5.5)',
  );
  await edited(
    'plain-size-over-2-50',
    (m) => (m.packs[0]!.plainSize = 2 ** 50 + 1),
    'pack 0: plain_size 2^50 + 1',
  );
  await edited(
    'pack-unreferenced',
    (m) => m.packs.push({ ...m.packs[2]!, key: keyOf('inc-pack-d') }),
    'a fourth pack that no entry references',
  );

  // Paths.
  const leaf = (suffix: string, path: string, what: string) =>
    edited(suffix, (m) => (last(m).path = path), `the last file's path set to ${what}`);
  const first = (suffix: string, path: string, what: string) =>
    edited(
      suffix,
      (m) => m.entries.unshift({ type: 'directory', path }),
      `a directory ${what} added first`,
    );
  await first('path-empty', '', 'with an empty path');
  await first('path-absolute', '/abs', '"/abs"');
  await first('path-drive-letter', 'C:x', '"C:x"');
  await leaf('path-too-long', `é/${'x'.repeat(4095)}`, 'a path of 4,098 bytes');
  await leaf('path-nul', 'é/a\0b', '"é/a<NUL>b"');
  await leaf('path-backslash', 'é/a\\b', '"é/a\\b"');
  await leaf('path-dotdot', 'é/..', '"é/.."');
  await leaf('path-dot', 'é/.', '"é/."');
  await leaf('path-empty-segment', 'é//x', '"é//x"');
  await leaf('path-trailing-slash', 'é/x/', '"é/x/"');
  await leaf('path-too-deep', `é/${'a/'.repeat(63)}b`, 'a path of 65 segments');
  const key = find(good, utf8ToBytes('🔑'));
  await bytes(
    'path-not-utf8',
    'malformed_manifest',
    splice(good, key, 1, Uint8Array.of(0xff)),
    'the byte F0 of "🔑" in the last path set to FF: not UTF-8',
  );
  await edited(
    'path-unsorted',
    (m) => m.entries.splice(4, 2, m.entries[5]!, m.entries[4]!),
    '"db2" moved before "data/sub/wallet.sqlite"',
  );
  await edited(
    'path-duplicate',
    (m) => m.entries.splice(6, 0, { type: 'directory', path: 'é' }),
    'the directory "é" listed twice',
  );
  await edited('parent-missing', (m) => m.entries.splice(3, 1), 'the directory "data/sub" removed');
  await edited(
    'parent-is-file',
    (m) =>
      m.entries.splice(2, 0, {
        type: 'file',
        path: 'data/config.json/x',
        size: 0,
        digest: new Uint8Array(32),
        pack: 0,
        offset: 0,
      }),
    'an empty file "data/config.json/x": its parent is a file',
  );

  // Files.
  await edited('empty-file-offset', (m) => (empty(m).offset = 1), 'the empty file with offset 1');
  await edited('empty-file-pack', (m) => (empty(m).pack = 2), 'the empty file with pack index 2');
  await edited('file-pack-out-of-range', (m) => (config(m).pack = 3), 'a file in pack 3 of 3');
  await edited(
    'file-past-pack-end',
    (m) => (config(m).offset = 19_301),
    'a 700-byte file at offset 19,301 of a 20,000-byte pack',
  );
  await edited(
    'references-overlap',
    (m) => (config(m).offset = 1000),
    'a file at 1,000..1,700 of pack 1, over the run at 1,024',
  );

  // Databases.
  await edited('page-size-1000', (m) => (db2(m).pageSize = 1000), 'page size 1000');
  await edited('page-size-256', (m) => (db2(m).pageSize = 256), 'page size 256');
  await edited(
    'page-size-131072',
    (m) => (db2(m).pageSize = 131_072),
    'page size 131,072 (its run then passes its pack too)',
  );
  await edited(
    'page-count-0',
    (m) => (db2(m).pageCount = 0),
    'page count 0 (its run then covers more)',
  );
  await edited('run-count-0', (m) => (db2(m).runs = []), 'no runs for 3 pages');
  await edited(
    'run-count-over-page-count',
    (m) => (db2(m).runs = [0, 1, 2, 3].map((i) => ({ count: 1, pack: 2, offset: i * 512 }))),
    '4 runs of one page for 3 pages',
  );
  await edited(
    'run-of-no-pages',
    (m) => db2(m).runs.unshift({ count: 0, pack: 2, offset: 1536 }),
    'a run of 0 pages before the run of 3',
  );
  await edited('run-pack-out-of-range', (m) => (db2(m).runs[0]!.pack = 3), 'a run in pack 3 of 3');
  await edited(
    'run-past-pack-end',
    (m) => (wallet(m).runs[2]!.offset = 59_761),
    'a run of 10 KiB at 59,761 of a 70,000-byte pack',
  );
  await edited('runs-cover-fewer', (m) => (db2(m).pageCount = 4), 'page count 4, runs of 3 pages');
  await edited('runs-cover-more', (m) => (db2(m).pageCount = 2), 'page count 2, runs of 3 pages');

  return out;
}
