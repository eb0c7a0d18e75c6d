/**
 * The server's local files (docs/OPERATIONS.md "Running it", "A full disk"): only the
 * server's user may read them — the metadata database holds push tokens and session
 * hashes, the data directory the signing key and the backups — so new files and
 * directories are created private and those an older version left readable by others
 * are tightened at start; and how much room their disk has left.
 * @module
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';

/** Mode of private directories. */
export const PRIVATE_DIR = 0o700;
/** Mode of private files. */
export const PRIVATE_FILE = 0o600;

/**
 * Removes the group and other permission bits of `path`, if it exists.
 *
 * @param path - a file or directory
 * @returns true when the mode was changed
 * @throws when the mode cannot be read or changed (other than a missing path)
 */
export function restrictToOwner(path: string): boolean {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if ((mode & 0o077) === 0) return false;
  chmodSync(path, mode & ~0o077);
  return true;
}

/**
 * Creates a private directory (and missing parents, 0700 too), or tightens an existing
 * one.
 *
 * @param dir - the directory
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  restrictToOwner(dir);
}

/**
 * Opens the way for SQLite to a private database: its directory 0700, the file created
 * empty with mode 0600 if missing (SQLite gives its WAL and SHM the database file's
 * mode), and the file, WAL and SHM an older version left open tightened.
 *
 * @param file - the database file's path
 * @param dir - its directory
 */
export function preparePrivateDatabase(file: string, dir: string): void {
  ensurePrivateDir(dir);
  // An empty file is a valid new database; 'a' never truncates an existing one.
  closeSync(openSync(file, 'a', PRIVATE_FILE));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) restrictToOwner(f);
}

/**
 * Bytes an unprivileged process can still write on the filesystem holding `dir`
 * (statfs: available blocks × block size).
 *
 * @param dir - a directory on that filesystem
 * @returns free bytes
 */
export async function freeBytesAt(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
