/**
 * Reads a backup's archive in the browser with the guards the Node reader applies (the
 * same `@noah-backup/client/node/guards`): every tar and ZIP the Node side writes is
 * read (directories, nested paths, pax and GNU long names, base-256 sizes, Unix modes
 * in ZIP attributes), and what the Node reader refuses is refused. A tar is parsed as
 * it streams, the way `tar-stream` (the Node reader) parses it; a ZIP (the legacy
 * formats, one in-memory message by nature) is checked against its central directory
 * first, as `extract-zip.ts` does on Node.
 *
 * The caller decides per entry, once the guards admitted it, whether to keep the file's
 * bytes; it may throw to stop reading (a wallet that is not this one's).
 *
 * Errors: every refusal is `unsafe_archive`: a guard's names the rule (never a name); a
 * malformed archive (bad checksum, truncated, a size that lies, bad deflate data) is
 * {@link ArchiveError}.
 * @module
 */
import {
  createEntryGuard,
  type EntryGuard,
  type ExtractLimits,
  unsafeArchive,
} from '@noah-backup/client/node/guards';
import { Inflate } from 'fflate';
import { ArchiveError, type ArchiveKind } from './archive.ts';
import { ByteSource } from './byte-source.ts';

/** An entry the guards admitted. */
export interface ArchiveItem {
  /** The relative path, `/`-separated (no trailing `/`). */
  path: string;
  type: 'file' | 'directory';
  /** The file's declared size (0 for a directory). */
  size: number;
}

/** What {@link readArchive} needs. */
export interface ReadArchiveOptions {
  /** The Node reader's limits (entries, bytes per file, bytes in all). */
  limits: ExtractLimits;
  /** True keeps this file's bytes in the result. May throw to stop reading. */
  keep(item: ArchiveItem): boolean;
  signal?: AbortSignal;
}

/**
 * Reads an archive, keeping the files `keep` asks for.
 *
 * @param kind - `'tar'` or `'zip'`
 * @param source - the archive bytes, in chunks of any size
 * @param opts - limits, the keep decision, an abort signal
 * @returns the kept files by path
 * @throws NoahError `unsafe_archive`; ArchiveError; whatever `keep` or `source` throws
 * @example
 * ```ts
 * const files = await readArchive('tar', chunks, { limits: DEFAULT_LIMITS, keep: (e) => e.path === 'wallet.sqlite' });
 * ```
 */
export async function readArchive(
  kind: ArchiveKind,
  source: AsyncIterable<Uint8Array>,
  opts: ReadArchiveOptions,
): Promise<Map<string, Uint8Array>> {
  if (kind !== 'tar' && kind !== 'zip')
    throw new TypeError(`kind must be 'tar' or 'zip', got ${String(kind)}`);
  const guard = createEntryGuard(opts.limits);
  const kept = new Map<string, Uint8Array>();
  const src = new ByteSource(source, opts.signal);
  try {
    if (kind === 'tar') await readTar(src, guard, opts, kept);
    else await readZip(src, guard, opts, kept);
  } finally {
    // A refusal stops the download and decryption behind the source too.
    await src.close().catch(() => undefined);
  }
  return kept;
}

// ---- tar (POSIX ustar, pax and GNU extensions), as tar-stream parses it ----

const BLOCK = 512;
/** tar-stream's cap on a pax or GNU long-name header's data. */
const MAX_LONG_HEADER = 4 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8');

const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** Header checksum: the sum of all bytes with the checksum field counted as spaces. */
function checksum(h: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += h[i]!;
  for (let i = 156; i < BLOCK; i++) sum += h[i]!;
  return sum;
}

/** A numeric field: octal text (leading spaces and NULs skipped), or base-256 (high bit set). */
function numberField(h: Uint8Array, offset: number, width: number): number {
  const f = h.subarray(offset, offset + width);
  if (f[0]! & 0x80) {
    // GNU base-256: 0x80 positive, 0xff two's-complement negative.
    if (f[0] !== 0x80 && f[0] !== 0xff) return Number.NaN;
    const negative = f[0] === 0xff;
    let v = 0;
    for (let i = 1; i < width; i++) v = v * 256 + (negative ? 0xff - f[i]! : f[i]!);
    return negative ? -v : v;
  }
  let i = 0;
  while (i < width && f[i] === 0x20) i++;
  let end = f.indexOf(0x20, i);
  if (end === -1) end = width;
  while (i < end && f[i] === 0) i++;
  if (i === end) return 0;
  // parseInt, as tar-stream: the octal digits up to the first other character.
  return Number.parseInt(utf8.decode(f.subarray(i, end)), 8);
}

function text(bytes: Uint8Array, offset = 0, width = bytes.length): string {
  const field = bytes.subarray(offset, offset + width);
  const nul = field.indexOf(0);
  return utf8.decode(nul === -1 ? field : field.subarray(0, nul));
}

/** pax records: "<length> <key>=<value>\n" (POSIX pax; parsed as tar-stream does). */
function paxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let buf = data;
  while (buf.length > 0) {
    let i = 0;
    while (i < buf.length && buf[i] !== 0x20) i++;
    const len = Number.parseInt(utf8.decode(buf.subarray(0, i)), 10);
    if (!len) return out;
    const record = utf8.decode(buf.subarray(i + 1, len - 1));
    const eq = record.indexOf('=');
    if (eq === -1) return out;
    out[record.slice(0, eq)] = record.slice(eq + 1);
    buf = buf.subarray(len);
  }
  return out;
}

const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar"
const isUstar = (h: Uint8Array) => USTAR.every((b, i) => h[257 + i] === b) && h[262] === 0;
const isGnu = (h: Uint8Array) =>
  USTAR.every((b, i) => h[257 + i] === b) && h[262] === 0x20 && h[263] === 0x20 && h[264] === 0;

/** Entry types by typeflag, as tar-stream names them (refusals name the type). */
const TYPES: Record<number, string> = {
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  6: 'fifo',
  7: 'contiguous-file',
};

async function readTar(
  src: ByteSource,
  guard: EntryGuard,
  opts: ReadArchiveOptions,
  kept: Map<string, Uint8Array>,
): Promise<void> {
  let pax: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> | null = null;
  let longPath: string | null = null;
  for (;;) {
    const h = await src.exact(BLOCK);
    // The end of the stream at a block boundary ends the archive (zero blocks or not).
    if (h === null) return;
    const sum = checksum(h);
    if (sum === 8 * 0x20) continue; // a zero block: skipped, as tar-stream does
    if (numberField(h, 148, 8) !== sum) throw new ArchiveError('a tar header is damaged');
    if (!isUstar(h) && !isGnu(h)) throw new ArchiveError('a tar header is of an unknown format');
    let flag = h[156] === 0 ? 0 : h[156]! - 0x30;
    let name = text(h, 0, 100);
    if (isUstar(h) && h[345]) name = `${text(h, 345, 155)}/${name}`;
    let size = numberField(h, 124, 12);
    // Old tars mark a directory by a trailing slash on a regular file entry.
    if (flag === 0 && name.endsWith('/')) flag = 5;

    if (flag === 27 || flag === 28 || flag === 30 || flag === 55 || flag === 72) {
      // GNU long link name ('K'), long name ('L', 'N'), pax global ('g'), pax ('x').
      if (!(size >= 0) || size > MAX_LONG_HEADER)
        throw new ArchiveError('a tar extension header is invalid');
      const data = await src.exact(size);
      if (data === null && size > 0) throw truncated();
      await src.skip(padding(size));
      const body = data ?? new Uint8Array(0);
      if (flag === 28 || flag === 30) longPath = text(body);
      else if (flag === 55) paxGlobal = paxRecords(body);
      else if (flag === 72) pax = { ...(paxGlobal ?? {}), ...paxRecords(body) };
      continue;
    }
    if (longPath !== null) {
      name = longPath;
      longPath = null;
    }
    if (pax) {
      if (pax.path) name = pax.path;
      if (pax.size) size = Number.parseInt(pax.size, 10);
      pax = null;
    }
    if (!(size >= 0)) throw new ArchiveError('a tar header is invalid');

    if (flag === 5) {
      // tar-stream reads no data for a directory, whatever its size field says.
      const path = guard.admit(name, 'directory');
      opts.keep({ path, type: 'directory', size: 0 });
      continue;
    }
    if (flag !== 0) {
      const type = TYPES[flag] ?? 'unknown';
      throw unsafeArchive(`${type} entries are not allowed (only files and dirs)`);
    }
    const path = guard.admit(name, 'file', size);
    const out = opts.keep({ path, type: 'file', size }) ? new Uint8Array(size) : null;
    for (let done = 0; done < size; ) {
      const chunk = await src.some(Math.min(size - done, 256 * 1024));
      if (chunk === null) throw truncated();
      guard.addBytes(chunk.length);
      out?.set(chunk, done);
      done += chunk.length;
    }
    await src.skip(padding(size));
    if (out) kept.set(path, out);
  }
}

const truncated = () => new ArchiveError('the tar archive is truncated');

// ---- ZIP (APPNOTE.TXT), as extract-zip.ts checks it on Node ----

/** Largest ZIP accepted in memory (the Node reader's cap). */
const MAX_ZIP_BYTES = 2 ** 31 - 1;
const INFLATE_STEP = 4096;

interface ZipEntry {
  name: string;
  isDir: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  dataStart: number;
}

async function readZip(
  src: ByteSource,
  guard: EntryGuard,
  opts: ReadArchiveOptions,
  kept: Map<string, Uint8Array>,
): Promise<void> {
  const cap = Math.min(MAX_ZIP_BYTES, opts.limits.maxTotalBytes + 16 * 1024 * 1024);
  const zip = await src.all(cap, () => unsafeArchive('ZIP archive too large (maxTotalBytes)'));
  for (const e of centralDirectory(zip)) {
    opts.signal?.throwIfAborted();
    if (e.isDir) {
      const path = guard.admit(e.name, 'directory');
      opts.keep({ path, type: 'directory', size: 0 });
      continue;
    }
    const path = guard.admit(e.name, 'file', e.size);
    const keep = opts.keep({ path, type: 'file', size: e.size });
    const parts: Uint8Array[] = [];
    let size = 0;
    let crc = 0;
    const data = zip.subarray(e.dataStart, e.dataStart + e.compressedSize);
    for (const chunk of e.method === 0 ? [data] : inflated(data)) {
      guard.addBytes(chunk.length);
      size += chunk.length;
      crc = crc32(chunk, crc);
      if (keep) parts.push(chunk);
    }
    if (size !== e.size) throw new ArchiveError('a declared entry size does not match its content');
    if (crc !== e.crc) throw new ArchiveError('an entry fails its CRC-32 check');
    if (keep) kept.set(path, concat(parts, size));
  }
}

function* inflated(data: Uint8Array): Generator<Uint8Array> {
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
    } catch {
      throw new ArchiveError('malformed deflate data');
    }
    i = end;
    while (out.length > 0) yield out.shift()!;
  } while (i < data.length);
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;

/** The central directory (APPNOTE 4.3.12), checked against the local headers. */
function centralDirectory(zip: Uint8Array): ZipEntry[] {
  let eocd = -1;
  for (let p = zip.length - 22; p >= Math.max(0, zip.length - 22 - 0xffff); p--)
    if (u32(zip, p) === 0x06054b50) {
      eocd = p;
      break;
    }
  if (eocd < 0) throw new ArchiveError('malformed ZIP (no end of central directory)');
  const count = u16(zip, eocd + 10);
  const cdSize = u32(zip, eocd + 12);
  const cdOffset = u32(zip, eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw unsafeArchive('ZIP64 is not supported');
  if (cdOffset + cdSize > eocd) throw new ArchiveError('malformed ZIP (central directory bounds)');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdOffset + cdSize || u32(zip, p) !== 0x02014b50)
      throw new ArchiveError('malformed ZIP (central directory entry)');
    const madeBy = u16(zip, p + 4);
    const flags = u16(zip, p + 8);
    const method = u16(zip, p + 10);
    const crc = u32(zip, p + 16);
    const compressedSize = u32(zip, p + 20);
    const size = u32(zip, p + 24);
    const nameLen = u16(zip, p + 28);
    const external = u32(zip, p + 38);
    const local = u32(zip, p + 42);
    const nameBytes = zip.subarray(p + 46, p + 46 + nameLen);
    p += 46 + nameLen + u16(zip, p + 30) + u16(zip, p + 32);
    if (p > cdOffset + cdSize) throw new ArchiveError('malformed ZIP (central directory entry)');
    if (flags & 1) throw unsafeArchive('encrypted ZIP entries are not supported');
    if (method !== 0 && method !== 8) throw unsafeArchive('unsupported ZIP compression method');
    const name = utf8.decode(nameBytes);
    const isDir = name.endsWith('/');
    // Unix st_mode in the high 16 bits of the external attributes (APPNOTE 4.4.2, 4.4.15).
    const mode = (external >>> 16) & 0o170000;
    if (madeBy >> 8 === 3 && mode !== 0) {
      if (mode === 0o120000) throw unsafeArchive('symlink entries are not allowed');
      if (!(mode === 0o100000 && !isDir) && !(mode === 0o040000 && isDir))
        throw unsafeArchive('special file entries are not allowed (only files and dirs)');
    }
    // Local file header (APPNOTE 4.3.7): the same name, the data right after it.
    if (local + 30 > cdOffset || u32(zip, local) !== 0x04034b50)
      throw new ArchiveError('malformed ZIP (local header)');
    const localNameLen = u16(zip, local + 26);
    const localName = zip.subarray(local + 30, local + 30 + localNameLen);
    if (localNameLen !== nameLen || !localName.every((b, i) => b === nameBytes[i]))
      throw new ArchiveError('ZIP local header name differs from the central directory');
    const dataStart = local + 30 + localNameLen + u16(zip, local + 28);
    if (dataStart + compressedSize > cdOffset)
      throw new ArchiveError('malformed ZIP (entry bounds)');
    if (isDir && size !== 0) throw unsafeArchive('ZIP directory entry with content');
    entries.push({ name, isDir, method, crc, compressedSize, size, dataStart });
  }
  return entries;
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as ZIP uses it), continuing from `crc`. */
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
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === size) return parts[0]!.slice();
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
