/**
 * Incremental-backup test vectors (docs/FORMAT.md §7, §8): pack objects and manifest
 * objects written with recorded randomness, the manifests' expected decoding as JSON,
 * and what restoring them gives; negatives in incremental-negative.ts. Digests are
 * computed here with node:crypto from the placed bytes, independently of the code under
 * test.
 * @module
 */
import { createHmac } from 'node:crypto';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '../../packages/core/src/bytes.ts';
import { encodeManifest } from '../../packages/core/src/incremental/manifest.ts';
import { encryptManifest, encryptPack } from '../../packages/core/src/incremental/objects.ts';
import type { Manifest, ManifestEntry } from '../../packages/core/src/incremental/types.ts';
import { createKeyring, type Keyring } from '../../packages/core/src/keys.ts';
import { collect, fromBytes } from '../../packages/core/src/stream.ts';
import { encryptV2Bytes } from '../../packages/core/src/v2/encrypt.ts';
import { deriveFileKeys } from '../../packages/core/src/v2/header.ts';
import { CREATED_AT, MNEMONIC, seededRandom, sha256Hex, sha256Stream } from './common.ts';
import { type IncVector, keyOf, recordHead } from './incremental-common.ts';
import { incrementalNegatives } from './incremental-negative.ts';
import { manifestToJson } from './incremental-json.ts';

/** A positive pack: its plaintext is `sha256-stream:<name>`. */
interface PackSpec {
  name: string;
  length: number;
  compression?: 'deflate' | 'zstd';
}

const PACKS: PackSpec[] = [
  { name: 'inc-pack-a', length: 70_000, compression: 'deflate' },
  { name: 'inc-pack-b', length: 20_000, compression: 'zstd' },
  { name: 'inc-pack-c', length: 3_000 },
];

/** The writer's inputs of a positive record. */
function writer(
  plaintext: Uint8Array,
  random: Uint8Array,
  sequence: bigint,
  kind: string,
  compression?: string,
) {
  return {
    plaintext_length: plaintext.length,
    plaintext_sha256: sha256Hex(plaintext),
    ...(plaintext.length <= 4096 ? { plaintext_hex: bytesToHex(plaintext) } : {}),
    random_hex: bytesToHex(random),
    created_at: CREATED_AT.toISOString(),
    created_at_ms: CREATED_AT.getTime(),
    sequence: sequence.toString(),
    compress: compression !== undefined,
    ...(compression === 'zstd' ? { compression } : {}),
    payload_kind: kind,
  };
}

async function packVector(keyring: Keyring, spec: PackSpec) {
  const plaintext = sha256Stream(spec.name, spec.length);
  const { random, used } = seededRandom(spec.name);
  const sealed = encryptPack(fromBytes(plaintext), {
    key: keyring.v2Key(),
    createdAt: CREATED_AT,
    sequence: 7n,
    ...(spec.compression ? { compression: spec.compression } : { compress: false }),
    random,
  });
  const blob = await collect(sealed.stream);
  const record = {
    ...recordHead(
      spec.name,
      'pack',
      'ok',
      `a pack of ${spec.length} bytes, ${spec.compression ?? 'stored'}`,
      blob,
    ),
    ...writer(plaintext, used(), 7n, 'pack', spec.compression),
    plaintext_generator: `sha256-stream:${spec.name}`,
  };
  return { vector: { name: spec.name, record, blob }, plaintext, summary: sealed.summary() };
}

const hmac = (key: Uint8Array, ...parts: Uint8Array[]) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/**
 * Fills in the digests of a manifest whose places are set (FORMAT.md §8.3), from the
 * bytes those places hold, and lists what a restore gives.
 */
function digested(m: Manifest, plaintexts: Uint8Array[], digestKey: Uint8Array) {
  const restored: { path: string; type: string; size: number; sha256: string }[] = [];
  for (const e of m.entries) {
    if (e.type === 'file') {
      const content = plaintexts[e.pack]!.subarray(e.offset, e.offset + e.size);
      e.digest = hmac(digestKey, content);
      restored.push({ path: e.path, type: e.type, size: e.size, sha256: sha256Hex(content) });
    }
    if (e.type !== 'database') continue;
    const pages = concatBytes(
      ...e.runs.map((r) => plaintexts[r.pack]!.subarray(r.offset, r.offset + r.count * e.pageSize)),
    );
    const pds: Uint8Array[] = [];
    for (let off = 0; off < pages.length; off += e.pageSize)
      pds.push(hmac(digestKey, pages.subarray(off, off + e.pageSize)).subarray(0, 16));
    const sizes = new Uint8Array(8);
    new DataView(sizes.buffer).setUint32(0, e.pageSize);
    new DataView(sizes.buffer).setUint32(4, e.pageCount);
    e.digest = hmac(digestKey, new TextEncoder().encode('noah-backup db'), sizes, ...pds);
    restored.push({ path: e.path, type: e.type, size: pages.length, sha256: sha256Hex(pages) });
  }
  return restored;
}

/** The entries of inc-manifest-1: nested directories, files, two databases over three packs. */
function entries(): ManifestEntry[] {
  const d = new Uint8Array(32);
  return [
    { type: 'directory', path: 'data' },
    { type: 'file', path: 'data/config.json', size: 700, digest: d, pack: 1, offset: 100 },
    { type: 'file', path: 'data/empty', size: 0, digest: d, pack: 0, offset: 0 },
    { type: 'directory', path: 'data/sub' },
    {
      type: 'database',
      path: 'data/sub/wallet.sqlite',
      pageSize: 1024,
      pageCount: 60,
      digest: d,
      // 40 pages at the start of pack a, 10 in pack b, 10 more in pack a after a gap.
      runs: [
        { count: 40, pack: 0, offset: 0 },
        { count: 10, pack: 1, offset: 1024 },
        { count: 10, pack: 0, offset: 45_000 },
      ],
    },
    {
      type: 'database',
      path: 'db2',
      pageSize: 512,
      pageCount: 3,
      digest: d,
      runs: [{ count: 3, pack: 2, offset: 0 }],
    },
    { type: 'directory', path: 'é' },
    { type: 'file', path: 'é/🔑.txt', size: 50, digest: d, pack: 2, offset: 2000 },
  ];
}

async function manifestVector(
  keyring: Keyring,
  name: string,
  note: string,
  m: Manifest,
  packNames: string[],
  restored: unknown[],
  compression?: 'deflate' | 'zstd',
) {
  const { random, used } = seededRandom(name);
  const { bytes: blob } = await encryptManifest(m, {
    key: keyring.v2Key(),
    createdAt: CREATED_AT,
    sequence: 8n,
    ...(compression ? { compression } : { compress: false }),
    random,
  });
  const plaintext = encodeManifest(m);
  return {
    name,
    blob,
    record: {
      ...recordHead(name, 'manifest', 'ok', note, blob),
      ...writer(plaintext, used(), 8n, 'manifest', compression),
      manifest: manifestToJson(m),
      pack_vectors: packNames,
      restored,
    },
  };
}

/**
 * Object-level negatives: a pack read as a manifest, another genuine pack in a pack's
 * place, and a v2 file of a payload kind no version defines.
 */
async function objectNegatives(keyring: Keyring, positives: IncVector[]): Promise<IncVector[]> {
  const out: IncVector[] = [];
  const byName = new Map(positives.map((v) => [v.name, v]));
  const packB = byName.get('inc-pack-b')!.blob;
  out.push({
    name: 'inc-pack-as-manifest',
    blob: packB,
    record: {
      ...recordHead(
        'inc-pack-as-manifest',
        'manifest',
        'malformed_manifest',
        'inc-pack-b read as a manifest: payload kind pack',
        packB,
      ),
      base: 'inc-pack-b',
      mutation: 'a pack object where a manifest is expected',
    },
  });
  const packC = byName.get('inc-pack-c')!.blob;
  out.push({
    name: 'inc-pack-substituted',
    blob: packC,
    record: {
      ...recordHead(
        'inc-pack-substituted',
        'pack',
        'decryption_failed',
        'inc-pack-c served as pack 1 of inc-manifest-1: genuine, but not the object the manifest lists',
        packC,
      ),
      base: 'inc-pack-c',
      mutation: 'another pack of the same seedphrase in pack 1’s place',
      manifest: 'inc-manifest-1',
      pack_index: 1,
    },
  });
  const raw = await encryptV2Bytes(Uint8Array.of(1, 2, 3), {
    key: keyring.v2Key(),
    createdAt: CREATED_AT,
    sequence: 1n,
    compress: false,
    random: seededRandom('inc-payload-kind-5').random,
  });
  raw[10] = 5;
  const { headerKey } = deriveFileKeys(keyring.v2Key(), raw.subarray(28, 60));
  raw.set(nobleHmac(sha256, headerKey, raw.subarray(0, 60)), 60);
  out.push({
    name: 'inc-payload-kind-5',
    blob: raw,
    record: {
      ...recordHead(
        'inc-payload-kind-5',
        'v2',
        'unsupported_payload_kind',
        'a v2 file of payload kind 0x05, which no version defines, under a valid header MAC',
        raw,
      ),
      mutation: 'payload kind byte set to 5 and the header MAC recomputed with the key',
    },
  });
  return out;
}

/**
 * Every incremental vector, positives first.
 * @returns the vectors, named uniquely
 */
export async function incrementalVectors(): Promise<IncVector[]> {
  const keyring = await createKeyring(MNEMONIC);
  try {
    const packs = [];
    for (const spec of PACKS) packs.push(await packVector(keyring, spec));
    const m: Manifest = {
      packs: packs.map((p, i) => ({ key: keyOf(PACKS[i]!.name), ...p.summary })),
      entries: entries(),
    };
    const restored = digested(
      m,
      packs.map((p) => p.plaintext),
      keyring.digestKey(),
    );
    const full = await manifestVector(
      keyring,
      'inc-manifest-1',
      'a manifest of three packs: directories, files (one empty, one under a non-ASCII path), two databases, runs across packs with garbage between',
      m,
      PACKS.map((p) => p.name),
      restored,
      'zstd',
    );
    const empty = await manifestVector(
      keyring,
      'inc-manifest-empty',
      'the empty manifest: no packs, no entries (an empty data directory)',
      { packs: [], entries: [] },
      [],
      [],
      'deflate',
    );
    const positives = [...packs.map((p) => p.vector), full, empty];
    return [
      ...positives,
      ...(await incrementalNegatives(keyring, m)),
      ...(await objectNegatives(keyring, positives)),
    ];
  } finally {
    keyring.destroy();
  }
}
