/**
 * The manifest of an incremental backup as data (FORMAT.md §8.4), and the constants and
 * limits of the incremental format. Changing any constant changes the format.
 * @module
 */

/** The manifest plaintext's first four bytes, "NBMF". */
export const MANIFEST_MAGIC: Uint8Array = Uint8Array.of(0x4e, 0x42, 0x4d, 0x46);
/** The manifest encoding's version byte. */
export const MANIFEST_VERSION = 1;
/** Most packs a manifest may list. */
export const MAX_PACKS = 65_536;
/** Most entries (directories, files, databases) a manifest may hold. */
export const MAX_ENTRIES = 100_000;
/** Most pages of one database (2^31). */
export const MAX_PAGE_COUNT = 2 ** 31;
/** Longest pack key, in bytes. */
export const MAX_KEY_LENGTH = 128;
/** Largest manifest plaintext a writer may produce and a reader must accept: 64 MiB. */
export const MAX_MANIFEST_BYTES = 64 * 2 ** 20;
/** Smallest and largest SQLite page sizes (powers of two in between). */
export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65_536;
/** Bytes of a page digest (a truncated HMAC-SHA-256). */
export const PAGE_DIGEST_LENGTH = 16;
/** Bytes of a file or database digest (a whole HMAC-SHA-256), and of a pack's SHA-256. */
export const DIGEST_LENGTH = 32;

/**
 * True if `n` is a valid database page size: a power of two from 512 to 65,536.
 * @example
 * ```ts
 * isPageSize(4096) // true
 * ```
 */
export function isPageSize(n: unknown): n is number {
  return (
    typeof n === 'number' &&
    Number.isInteger(n) &&
    n >= MIN_PAGE_SIZE &&
    n <= MAX_PAGE_SIZE &&
    (n & (n - 1)) === 0
  );
}

/** One object a manifest references (FORMAT.md §8.4 `pack`). */
export interface ManifestPack {
  /** The object's storage key (`s3_key`), 1..128 bytes of `[A-Za-z0-9/_.-]`. */
  key: string;
  /** Bytes of the whole encrypted object (a v2 file size, FORMAT.md §5.5). */
  size: number;
  /** SHA-256 of the whole encrypted object, 32 bytes. */
  sha256: Uint8Array;
  /** Bytes of the pack's plaintext. */
  plainSize: number;
}

/** A directory (FORMAT.md §8.4 `entry`, type 1). */
export interface DirectoryEntry {
  type: 'directory';
  /** Relative, `/`-separated (FORMAT.md §8.5). */
  path: string;
}

/** A file stored whole (type 2). */
export interface FileEntry {
  type: 'file';
  path: string;
  /** Bytes of the file. */
  size: number;
  /** The file digest (FORMAT.md §8.3), 32 bytes. */
  digest: Uint8Array;
  /** Index into `packs` of the pack that holds it (0 for an empty file: no reference). */
  pack: number;
  /** Offset of its first byte in that pack's plaintext (0 for an empty file). */
  offset: number;
}

/** Consecutive pages of a database stored one after another in one pack. */
export interface Run {
  /** Pages in the run, at least 1. */
  count: number;
  /** Index into `packs`. */
  pack: number;
  /** Offset of the run's first page in the pack's plaintext. */
  offset: number;
}

/** A SQLite database stored page by page (type 3). */
export interface DatabaseEntry {
  type: 'database';
  path: string;
  /** A power of two from 512 to 65,536. */
  pageSize: number;
  /** Pages in the database, 1..2^31. */
  pageCount: number;
  /** The database digest (FORMAT.md §8.3), 32 bytes. */
  digest: Uint8Array;
  /** Where the pages are, from page 1 on: the counts sum to `pageCount`. */
  runs: Run[];
}

/** One entry of a manifest. */
export type ManifestEntry = DirectoryEntry | FileEntry | DatabaseEntry;

/** A decoded manifest (FORMAT.md §8.4). */
export interface Manifest {
  /** Every object the backup references besides the manifest, each at least once. */
  packs: ManifestPack[];
  /** Sorted by path (UTF-8 byte order), every parent directory before its children. */
  entries: ManifestEntry[];
}
