/**
 * Files only the server's user may read (docs/OPERATIONS.md "Running it"): the metadata
 * database holds push tokens and session hashes, the data directory the signing key and
 * the backups. New files and directories are created private; files an older version
 * left readable by others are tightened at start.
 * @module
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

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
