/**
 * The browser wallet's archive: a handful of named files packed as POSIX ustar (the v2
 * default) or ZIP (legacy formats), and unpacked with guards. The web wallet knows
 * exactly which files it writes, so the reader is an allowlist: any other name, a
 * duplicate, a link, a directory, a bad checksum or an entry over the size caps is
 * refused before anything is used.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import { unzipSync, zipSync } from 'fflate';

/** Archive kinds the wallet adapter accepts (same as the client's `ArchiveKind`). */
export type ArchiveKind = 'tar' | 'zip';

/** One file in an archive. */
export interface ArchiveEntry {
  /** A plain file name (no directories). */
  name: string;
  data: Uint8Array;
}

/** What an archive may contain. */
export interface ArchiveLimits {
  /** The only names accepted; anything else is refused. */
  allowedNames: readonly string[];
  /** Largest accepted size of one entry, in bytes. */
  maxEntryBytes: number;
  /** Largest accepted sum of entry sizes, in bytes. */
  maxTotalBytes: number;
}

/** The archive is malformed or breaks a guard. The message names no secret. */
export class ArchiveError extends NoahError {
  constructor(message: string) {
    super('corrupt_archive', `the backup archive is not valid: ${message}`);
  }
}

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `value` as a NUL-terminated octal field of `width` bytes (POSIX ustar). */
function putOctal(h: Uint8Array, offset: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new RangeError(`tar field overflow: ${value}`);
  h.set(enc.encode(s), offset);
  h[offset + width - 1] = 0;
}

function readOctal(h: Uint8Array, offset: number, width: number): number {
  const s = dec
    .decode(h.subarray(offset, offset + width))
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (!/^[0-7]{1,12}$/.test(s)) throw new ArchiveError('bad number in a tar header');
  return Number.parseInt(s, 8);
}

function readString(h: Uint8Array, offset: number, width: number): string {
  const field = h.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return dec.decode(end === -1 ? field : field.subarray(0, end));
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  // POSIX ustar: the checksum field itself (offset 148, 8 bytes) counts as spaces.
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

function tarHeader(name: string, size: number, mtime: Date): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const nameBytes = enc.encode(name);
  if (nameBytes.length > 100) throw new RangeError(`tar entry name too long: ${name}`);
  h.set(nameBytes, 0);
  putOctal(h, 100, 8, 0o644); // mode
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h[156] = 0x30; // typeflag '0': regular file
  h.set(enc.encode('ustar\u000000'), 257); // magic "ustar\0" + version "00"
  const sum = checksum(h).toString(8).padStart(6, '0');
  h.set(enc.encode(`${sum}\u0000 `), 148);
  return h;
}

function packTar(entries: readonly ArchiveEntry[], mtime: Date): Uint8Array {
  let total = 2 * BLOCK;
  for (const e of entries) total += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out.set(tarHeader(e.name, e.data.length, mtime), at);
    at += BLOCK;
    out.set(e.data, at);
    at += Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  return out; // the two trailing zero blocks are already zero
}

function isZeroBlock(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

function unpackTar(bytes: Uint8Array, check: (name: string, size: number) => void): ArchiveEntry[] {
  const out: ArchiveEntry[] = [];
  let at = 0;
  for (;;) {
    if (at + BLOCK > bytes.length) throw new ArchiveError('the tar archive is truncated');
    const h = bytes.subarray(at, at + BLOCK);
    if (isZeroBlock(h)) break;
    if (readOctal(h, 148, 8) !== checksum(h)) throw new ArchiveError('a tar header is damaged');
    const type = h[156];
    if (type !== 0x30 && type !== 0)
      throw new ArchiveError('the archive holds a link, directory or special entry');
    const prefix = readString(h, 345, 155);
    const name = prefix ? `${prefix}/${readString(h, 0, 100)}` : readString(h, 0, 100);
    const size = readOctal(h, 124, 12);
    check(name, size);
    at += BLOCK;
    if (at + size > bytes.length) throw new ArchiveError('the tar archive is truncated');
    out.push({ name, data: bytes.slice(at, at + size) });
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
  // Only zero padding may follow the end-of-archive marker.
  if (!isZeroBlock(bytes.subarray(at))) throw new ArchiveError('data after the end of the archive');
  return out;
}

function unpackZip(bytes: Uint8Array, check: (name: string, size: number) => void): ArchiveEntry[] {
  let files: Record<string, Uint8Array>;
  try {
    // The filter runs on the central directory before anything is inflated.
    files = unzipSync(bytes, {
      filter: (f) => {
        check(f.name, f.originalSize);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError('the zip archive is damaged');
  }
  return Object.entries(files).map(([name, data]) => ({ name, data }));
}

/**
 * Packs files into one archive.
 *
 * @param kind - `'tar'` (ustar, uncompressed: v2 compresses the whole stream) or `'zip'`
 * @param entries - plain file names (at most 100 bytes) and their bytes
 * @param mtime - modification time recorded for every entry
 * @returns the archive bytes
 * @throws RangeError for a name that does not fit
 * @example
 * ```ts
 * const tar = packArchive('tar', [{ name: 'settings.json', data: utf8ToBytes('{}') }], new Date());
 * ```
 */
export function packArchive(
  kind: ArchiveKind,
  entries: readonly ArchiveEntry[],
  mtime: Date,
): Uint8Array {
  if (kind === 'tar') return packTar(entries, mtime);
  if (kind === 'zip')
    return zipSync(Object.fromEntries(entries.map((e) => [e.name, [e.data, { mtime }]])), {
      level: 6,
    });
  throw new TypeError(`kind must be 'tar' or 'zip', got ${String(kind)}`);
}

/**
 * Unpacks an archive, refusing anything outside `limits`: names not in the allowlist
 * (so no traversal, absolute paths or surprises), duplicates, links and directories,
 * entries or totals over the caps (checked from the headers before data is used, and
 * again on the real sizes), damaged headers and trailing data.
 *
 * @param kind - `'tar'` or `'zip'`
 * @param bytes - the whole archive
 * @param limits - allowlist and size caps
 * @returns the files by name
 * @throws ArchiveError when the archive is malformed or breaks a guard
 * @example
 * ```ts
 * const files = unpackArchive('tar', bytes, { allowedNames: ['wallet.sqlite'], maxEntryBytes: 1 << 26, maxTotalBytes: 1 << 26 });
 * ```
 */
export function unpackArchive(
  kind: ArchiveKind,
  bytes: Uint8Array,
  limits: ArchiveLimits,
): Map<string, Uint8Array> {
  const seen = new Map<string, Uint8Array>();
  let total = 0;
  const check = (name: string, size: number): void => {
    if (!limits.allowedNames.includes(name))
      throw new ArchiveError('it holds a file this wallet does not write');
    if (seen.has(name)) throw new ArchiveError('it holds the same file twice');
    seen.set(name, new Uint8Array(0));
    if (size > limits.maxEntryBytes) throw new ArchiveError('a file in it is too large');
    total += size;
    if (total > limits.maxTotalBytes) throw new ArchiveError('its contents are too large');
  };
  const entries =
    kind === 'tar'
      ? unpackTar(bytes, check)
      : kind === 'zip'
        ? unpackZip(bytes, check)
        : (() => {
            throw new TypeError(`kind must be 'tar' or 'zip', got ${String(kind)}`);
          })();
  let real = 0;
  for (const e of entries) {
    real += e.data.length;
    if (e.data.length > limits.maxEntryBytes || real > limits.maxTotalBytes)
      throw new ArchiveError('its contents are too large');
    seen.set(e.name, e.data);
  }
  return seen;
}
