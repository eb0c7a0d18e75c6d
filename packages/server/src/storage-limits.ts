/**
 * How much one user, and all users together, may store (docs/OPERATIONS.md "Storage
 * bounds"): the backup size limit, what pending uploads may hold, the operator's total
 * cap and the free space a local disk keeps. Parsed from the environment with the rest
 * of the configuration (src/config.ts).
 * @module
 */
import { parseSize } from './config.ts';

/** Validated storage limits, in bytes and counts. */
export interface StorageLimits {
  /** MAX_BACKUP_SIZE: the largest backup (its slot object and every object it references). */
  maxBackupSize: number;
  /**
   * MAX_PENDING_UPLOADS: live `upload_url` uploads a user may hold at once; times
   * MAX_BACKUP_SIZE, the bytes all of a user's pending uploads may declare.
   */
  maxPendingUploads: number;
  /** MAX_PENDING_OBJECTS: live `upload_urls` objects a user may hold at once. */
  maxPendingObjects: number;
  /**
   * MAX_TOTAL_STORAGE: bytes of completed backups plus pending uploads the server
   * accepts in total; an upload that would pass it is refused (507 `storage_full`).
   * 0 = no cap.
   */
  maxTotalStorage: number;
  /**
   * MIN_FREE_SPACE: below this many free bytes on the disk of a local store (the SQLite
   * database, the fs blob store), `/ready` reports the instance full and `upload_url`
   * refuses uploads (507 `storage_full`). Default: twice MAX_BACKUP_SIZE.
   */
  minFreeSpace: number;
}

const MIB = 1024 * 1024;

/**
 * Parses the storage limits.
 *
 * @param raw - reads a trimmed variable (undefined when unset or blank)
 * @param problems - where a line is added per invalid variable
 * @returns the limits (defaults in place of invalid values)
 * @example
 * ```ts
 * const limits = parseStorageLimits((n) => env[n], problems);
 * ```
 */
export function parseStorageLimits(
  raw: (name: string) => string | undefined,
  problems: string[],
): StorageLimits {
  const size = (name: string, def: number, check: (n: number) => boolean, must: string) => {
    const text = raw(name);
    if (text === undefined) return def;
    const n = parseSize(text);
    if (n === null || !check(n)) {
      problems.push(`${name}=${JSON.stringify(text)}: must be ${must}`);
      return def;
    }
    return n;
  };
  const count = (name: string, def: number, min: number, max: number) => {
    const text = raw(name);
    if (text === undefined) return def;
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(text)}: must be an integer from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const maxBackupSize = size(
    'MAX_BACKUP_SIZE',
    50 * MIB,
    (n) => n >= 1 && n <= 5 * 1024 * MIB,
    'a size from 1 byte to 5GiB (bytes, or e.g. 50MiB)',
  );
  return {
    maxBackupSize,
    maxPendingUploads: count('MAX_PENDING_UPLOADS', 4, 1, 100),
    // Enough for a full backup of 4 MiB packs at the largest MAX_BACKUP_SIZE (5 GiB).
    maxPendingObjects: count('MAX_PENDING_OBJECTS', 2048, 1, 100_000),
    maxTotalStorage: size(
      'MAX_TOTAL_STORAGE',
      0,
      () => true,
      'a size (bytes, or e.g. 500GiB), 0 for no cap',
    ),
    minFreeSpace: size(
      'MIN_FREE_SPACE',
      2 * maxBackupSize,
      () => true,
      'a size (bytes, or e.g. 200MiB)',
    ),
  };
}
