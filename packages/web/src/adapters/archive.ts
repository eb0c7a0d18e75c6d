/**
 * The browser wallet's archive writer: its two files packed as POSIX ustar (the v2
 * default) or ZIP (legacy formats). Reading, with the Node reader's guards, is in
 * `archive-read.ts`.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import { zipSync } from 'fflate';

/** Archive kinds the wallet adapter accepts (same as the client's `ArchiveKind`). */
export type ArchiveKind = 'tar' | 'zip';

/** One file in an archive. */
export interface ArchiveEntry {
  /** A plain file name (no directories). */
  name: string;
  data: Uint8Array;
}

/**
 * The archive is malformed: damaged (a bad checksum, truncated, a size that lies), not
 * merely of another wallet. `unsafe_archive`, the code of every archive refusal, as on
 * Node. The message names no entry and no secret.
 */
export class ArchiveError extends NoahError {
  constructor(message: string) {
    super('unsafe_archive', `the backup archive is damaged: ${message}`);
  }
}

/**
 * The backup is valid but was made by another kind of wallet (the noah-backup CLI or an
 * app backing up its own data directory): this web wallet cannot use its contents.
 * Never "damaged". The message names no entry and no secret.
 */
export class ForeignWalletError extends NoahError {
  constructor(why: string) {
    super('foreign_wallet', `this backup was made by another kind of wallet: ${why}`);
  }
}

const BLOCK = 512;
const enc = new TextEncoder();

/** Writes `value` as a NUL-terminated octal field of `width` bytes (POSIX ustar). */
function putOctal(h: Uint8Array, offset: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new RangeError(`tar field overflow: ${value}`);
  h.set(enc.encode(s), offset);
  h[offset + width - 1] = 0;
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
