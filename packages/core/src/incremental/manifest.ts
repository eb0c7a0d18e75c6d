/**
 * The manifest encoding (FORMAT.md §8.4): a binary, big-endian plaintext that lists the
 * packs a backup references and where every file and database page lies in them. The
 * decoder enforces every MUST-reject rule of FORMAT.md §8.6; the encoder writes only
 * manifests that follow them.
 * @module
 */
import { abytes, bytesToUtf8, equalBytes, utf8ToBytes } from '../bytes.ts';
import { LimitExceededError, MalformedManifestError, UnsupportedVersionError } from '../errors.ts';
import { MAX_PATH_BYTES } from '../paths.ts';
import { manifestProblem } from './manifest-rules.ts';
import {
  DIGEST_LENGTH,
  MANIFEST_MAGIC,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestEntry,
  type ManifestPack,
  MAX_ENTRIES,
  MAX_KEY_LENGTH,
  MAX_MANIFEST_BYTES,
  MAX_PACKS,
  MAX_PAGE_COUNT,
} from './types.ts';
import { type FieldReader, fieldReader, fieldWriter } from './varint.ts';

// FORMAT.md §8.4: the entry type byte.
const TYPES = { directory: 1, file: 2, database: 3 } as const;

/**
 * Encodes a manifest.
 * @param manifest - packs and entries; checked against every rule of FORMAT.md §8.6
 * @returns the manifest plaintext
 * @throws RangeError naming the first rule the manifest breaks, or if it would exceed
 *   64 MiB
 * @example
 * ```ts
 * const plaintext = encodeManifest({ packs: [], entries: [{ type: 'directory', path: 'a' }] });
 * ```
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const problem = manifestProblem(manifest);
  if (problem) throw new RangeError(`invalid manifest: ${problem}`);
  const out = writeManifestFields(manifest);
  if (out.length > MAX_MANIFEST_BYTES)
    throw new RangeError(`invalid manifest: more than ${MAX_MANIFEST_BYTES} bytes`);
  return out;
}

/**
 * Writes a manifest's fields as they are, checking nothing: for test vectors and tests
 * that need manifests breaking a rule. Keys are written one byte per character
 * (Latin-1), so a key may hold any byte. Not exported by the package index.
 * @param manifest - the fields to write
 * @param header - magic, version and flags (default: the valid ones)
 */
export function writeManifestFields(
  manifest: Manifest,
  header = { magic: MANIFEST_MAGIC, version: MANIFEST_VERSION, flags: 0 },
): Uint8Array {
  const w = fieldWriter();
  w.bytes(header.magic);
  w.u8(header.version);
  w.u8(header.flags);
  w.varint(manifest.packs.length);
  for (const p of manifest.packs) {
    w.u8(p.key.length);
    w.bytes(Uint8Array.from(p.key, (c) => c.charCodeAt(0)));
    w.varint(p.size);
    w.bytes(p.sha256);
    w.varint(p.plainSize);
  }
  w.varint(manifest.entries.length);
  for (const e of manifest.entries) {
    w.u8(TYPES[e.type]);
    const path = utf8ToBytes(e.path);
    w.varint(path.length);
    w.bytes(path);
    if (e.type === 'file') {
      w.varint(e.size);
      w.bytes(e.digest);
      w.varint(e.pack);
      w.varint(e.offset);
    } else if (e.type === 'database') {
      w.u32(e.pageSize);
      w.varint(e.pageCount);
      w.bytes(e.digest);
      w.varint(e.runs.length);
      for (const r of e.runs) {
        w.varint(r.count);
        w.varint(r.pack);
        w.varint(r.offset);
      }
    }
  }
  return w.finish();
}

const malformed = (rule: string) => new MalformedManifestError(rule);

function readPack(r: FieldReader): ManifestPack {
  const keyLength = r.u8();
  if (keyLength < 1 || keyLength > MAX_KEY_LENGTH) throw malformed('pack key not 1..128 bytes');
  const keyBytes = r.bytes(keyLength);
  // Latin-1 keeps one character per byte, so a byte outside ASCII fails the key rule.
  const key = String.fromCharCode(...keyBytes);
  const size = r.varint();
  const sha256 = r.bytes(DIGEST_LENGTH).slice();
  const plainSize = r.varint();
  return { key, size, sha256, plainSize };
}

function readEntry(r: FieldReader): ManifestEntry {
  const type = r.u8();
  const pathLength = r.varint();
  if (pathLength > MAX_PATH_BYTES) throw malformed('path longer than 4096 bytes');
  let path: string;
  try {
    path = bytesToUtf8(r.bytes(pathLength));
  } catch (err) {
    if (err instanceof MalformedManifestError) throw err;
    throw malformed('path is not valid UTF-8');
  }
  if (type === TYPES.directory) return { type: 'directory', path };
  if (type === TYPES.file) {
    const size = r.varint();
    const digest = r.bytes(DIGEST_LENGTH).slice();
    return { type: 'file', path, size, digest, pack: r.varint(), offset: r.varint() };
  }
  if (type !== TYPES.database) throw malformed(`unknown entry type ${type}`);
  const pageSize = r.u32();
  const pageCount = r.varint();
  const digest = r.bytes(DIGEST_LENGTH).slice();
  const runCount = r.varint();
  // Bounded before reading the runs (the rules check both again).
  if (pageCount < 1 || pageCount > MAX_PAGE_COUNT) throw malformed('page count not in 1..2^31');
  if (runCount < 1 || runCount > pageCount) throw malformed('run count not in 1..page_count');
  const runs = [];
  for (let i = 0; i < runCount; i++)
    runs.push({ count: r.varint(), pack: r.varint(), offset: r.varint() });
  return { type: 'database', path, pageSize, pageCount, digest, runs };
}

/**
 * Decodes a manifest plaintext and checks every rule of FORMAT.md §8.6.
 * @param bytes - the whole plaintext of a manifest object
 * @returns the manifest (digests and hashes are copies)
 * @throws MalformedManifestError naming the rule broken; UnsupportedVersionError for a
 *   version other than 1; LimitExceededError past 64 MiB; TypeError if not a Uint8Array
 * @example
 * ```ts
 * const { packs, entries } = decodeManifest(plaintext);
 * ```
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  abytes('bytes', bytes);
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new LimitExceededError(`manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  const r = fieldReader(bytes, malformed);
  if (!equalBytes(r.bytes(4), MANIFEST_MAGIC)) throw malformed('magic is not "NBMF"');
  const version = r.u8();
  if (version !== MANIFEST_VERSION) throw new UnsupportedVersionError(version);
  if (r.u8() !== 0) throw malformed('flags are not zero');
  const packCount = r.varint();
  if (packCount > MAX_PACKS) throw malformed(`more than ${MAX_PACKS} packs`);
  const packs: ManifestPack[] = [];
  for (let i = 0; i < packCount; i++) packs.push(readPack(r));
  const entryCount = r.varint();
  if (entryCount > MAX_ENTRIES) throw malformed(`more than ${MAX_ENTRIES} entries`);
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < entryCount; i++) entries.push(readEntry(r));
  if (r.remaining() > 0) throw malformed('bytes after the last entry');
  const manifest = { packs, entries };
  const problem = manifestProblem(manifest);
  if (problem) throw malformed(problem);
  return manifest;
}
