/**
 * The ZIP reader of every platform, for the legacy formats (seed-v0, noah-v1), whose
 * plaintext is one in-memory ZIP anyway. A ZIP in Noah's layout is read as the wallet
 * directory it holds (`noah-layout.ts`). The central directory is parsed here
 * (APPNOTE.TXT 6.3) so entry types (Unix mode in the external attributes) can be
 * checked; data is inflated in small steps and counted as it comes out, so a bomb is
 * stopped at the limit rather than after it fills memory.
 * @module
 */
import { Inflate } from 'fflate';
import type { ByteSource } from './byte-source.ts';
import { type EntryGuard, type ExtractLimits, unsafeArchive } from './guards.ts';
import { type ArchiveEntry, noBody } from './entry.ts';
import { noahRenamer } from './noah-layout.ts';
import { throwIfAborted } from '../errors.ts';

interface ZipEntry {
  readonly name: string;
  readonly isDir: boolean;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly dataStart: number;
}

/** Largest ZIP accepted in memory; bigger archives belong in tar. */
const MAX_ZIP_BYTES = 2 ** 31 - 1;
const INFLATE_STEP = 4096;

/**
 * Reads the ZIP in `src` entry by entry (see `readArchive`): the whole archive first, up
 * to a cap, then each entry as its central directory record describes it, refusing the
 * archive's own lies (a local header that disagrees, a size or CRC-32 that does not
 * match the content).
 * @throws NoahError `unsafe_archive`; whatever the source throws
 */
export async function* readZip(
  src: ByteSource,
  guard: EntryGuard,
  limits: ExtractLimits,
  signal?: AbortSignal,
): AsyncGenerator<ArchiveEntry> {
  const cap = Math.min(MAX_ZIP_BYTES, limits.maxTotalBytes + 16 * 1024 * 1024);
  const zip = await src.all(cap, () => unsafeArchive('ZIP archive too large (maxTotalBytes)'));
  const entries = readCentralDirectory(zip);
  // docs/FORMAT.md §4.5: Noah's single backup_staging/noah-data-* root is unwrapped.
  const rename = noahRenamer(entries.map((e) => e.name));
  for (const e of entries) {
    throwIfAborted(signal);
    const name = rename(e.name);
    if (name === null) continue;
    if (e.isDir) {
      yield { path: guard.admit(name, 'directory'), type: 'directory', size: 0, body: noBody() };
      continue;
    }
    const path = guard.admit(name, 'file', e.size);
    const data = zip.subarray(e.dataStart, e.dataStart + e.compressedSize);
    const content = checkedContent(e, data, guard);
    // Pulled by hand, so a caller that stops reading does not close `content`.
    const body = (async function* () {
      for (let r = content.next(); !r.done; r = content.next()) yield r.value;
    })();
    yield { path, type: 'file', size: e.size, body };
    // What the caller left unread is still inflated and checked, as a bomb must be.
    for (let r = content.next(); !r.done; r = content.next());
  }
}

/** Yields an entry's uncompressed bytes; at the end checks the size and CRC-32 declared. */
function* checkedContent(e: ZipEntry, data: Uint8Array, guard: EntryGuard): Generator<Uint8Array> {
  let size = 0;
  let crc = 0;
  const inner = e.method === 0 ? storedChunks(data) : inflatedChunks(data);
  for (const chunk of inner) {
    guard.addBytes(chunk.length);
    size += chunk.length;
    crc = crc32(chunk, crc);
    yield chunk;
  }
  if (size !== e.size) throw unsafeArchive('declared entry size does not match its content');
  if (crc >>> 0 !== e.crc) throw unsafeArchive('CRC-32 mismatch');
}

function* storedChunks(data: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
}

function* inflatedChunks(data: Uint8Array): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  const inflate = new Inflate((chunk) => {
    if (chunk.length > 0) out.push(chunk);
  });
  let i = 0;
  do {
    const end = Math.min(data.length, i + INFLATE_STEP);
    try {
      // One step of ≤ 4 KiB input inflates to at most ~4 MiB (deflate's ratio ≤ 1032:1).
      inflate.push(data.subarray(i, end), end === data.length);
    } catch (err) {
      throw unsafeArchive('malformed deflate data', err);
    }
    i = end;
    while (out.length > 0) yield out.shift()!;
  } while (i < data.length);
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;

/** APPNOTE 4.3.16: end of central directory record; the last one in the file. */
function findEndOfCentralDirectory(zip: Uint8Array): number {
  for (let p = zip.length - 22; p >= Math.max(0, zip.length - 22 - 0xffff); p--)
    if (u32(zip, p) === 0x06054b50) return p;
  throw unsafeArchive('malformed ZIP (no end of central directory)');
}

/**
 * Parses and checks the central directory (APPNOTE 4.3.12) against the local headers.
 * Refuses ZIP64, encryption, methods other than stored/deflate, entries whose local
 * header disagrees, and Unix types other than regular files and directories.
 */
function readCentralDirectory(zip: Uint8Array): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(zip);
  const count = u16(zip, eocd + 10);
  const cdSize = u32(zip, eocd + 12);
  const cdOffset = u32(zip, eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw unsafeArchive('ZIP64 is not supported');
  if (cdOffset + cdSize > eocd) throw unsafeArchive('malformed ZIP (central directory bounds)');
  const names = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdOffset + cdSize || u32(zip, p) !== 0x02014b50)
      throw unsafeArchive('malformed ZIP (central directory entry)');
    const madeBy = u16(zip, p + 4);
    const flags = u16(zip, p + 8);
    const method = u16(zip, p + 10);
    const crc = u32(zip, p + 16);
    const compressedSize = u32(zip, p + 20);
    const size = u32(zip, p + 24);
    const nameLen = u16(zip, p + 28);
    const extraLen = u16(zip, p + 30);
    const commentLen = u16(zip, p + 32);
    const external = u32(zip, p + 38);
    const local = u32(zip, p + 42);
    const nameBytes = zip.subarray(p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (p > cdOffset + cdSize) throw unsafeArchive('malformed ZIP (central directory entry)');
    if (flags & 1) throw unsafeArchive('encrypted ZIP entries are not supported');
    if (method !== 0 && method !== 8) throw unsafeArchive('unsupported ZIP compression method');
    const name = names.decode(nameBytes);
    const isDir = name.endsWith('/');
    checkUnixType(madeBy, external, isDir);
    // Local file header (APPNOTE 4.3.7): same name, data right after it.
    if (local + 30 > cdOffset || u32(zip, local) !== 0x04034b50)
      throw unsafeArchive('malformed ZIP (local header)');
    const localNameLen = u16(zip, local + 26);
    const localExtraLen = u16(zip, local + 28);
    const localName = zip.subarray(local + 30, local + 30 + localNameLen);
    if (localNameLen !== nameLen || !localName.every((b, i) => b === nameBytes[i]))
      throw unsafeArchive('ZIP local header name differs from the central directory');
    const dataStart = local + 30 + localNameLen + localExtraLen;
    if (dataStart + compressedSize > cdOffset) throw unsafeArchive('malformed ZIP (entry bounds)');
    if (isDir && size !== 0) throw unsafeArchive('ZIP directory entry with content');
    entries.push({ name, isDir, method, crc, compressedSize, size, dataStart });
  }
  return entries;
}

/** Unix `st_mode` in the high 16 bits of the external attributes (APPNOTE 4.4.2, 4.4.15). */
function checkUnixType(madeBy: number, external: number, isDir: boolean): void {
  if (madeBy >> 8 !== 3) return; // not a Unix host: no file type recorded
  const type = (external >>> 16) & 0o170000;
  if (type === 0) return;
  if (type === 0o120000) throw unsafeArchive('symlink entries are not allowed');
  if (type === 0o100000 && !isDir) return;
  if (type === 0o040000 && isDir) return;
  throw unsafeArchive('special file entries are not allowed (only files and dirs)');
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as ZIP uses it, APPNOTE 4.4.7), continuing from `crc`. */
function crc32(data: Uint8Array, crc: number): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
