/**
 * The HTTP limits (docs/OPERATIONS.md "Timeouts and connection limits") and the storage
 * bounds (docs/OPERATIONS.md "Storage bounds") as read from the environment.
 * @module
 */
import { envReader, type RawEnv } from './read.ts';

/** Validated HTTP limits. Durations in seconds; 0 caps mean "no cap". */
export interface HttpLimits {
  /** HEADERS_TIMEOUT: the request line and headers must arrive within this. */
  headersTimeoutSec: number;
  /** BODY_TIMEOUT: the body of a JSON API request must arrive within this. */
  bodyTimeoutSec: number;
  /** REQUEST_TIMEOUT: any whole request (an upload to the fs store included). */
  requestTimeoutSec: number;
  /** IDLE_TIMEOUT: a connection on which no byte moves either way for this long is closed. */
  idleTimeoutSec: number;
  /** KEEP_ALIVE_TIMEOUT: an idle kept-alive connection is closed after this. */
  keepAliveTimeoutSec: number;
  /** MAX_CONNECTIONS: open connections at once; more are closed at once. */
  maxConnections: number;
  /** MAX_CONNECTIONS_PER_ADDRESS: per client address (IPv6 by /64). */
  maxConnectionsPerAddress: number;
}

/** The defaults, for docs and tests. */
export const HTTP_LIMIT_DEFAULTS: HttpLimits = {
  headersTimeoutSec: 10,
  bodyTimeoutSec: 10,
  // A 50 MiB upload to the fs store at 100 KiB/s takes about 9 minutes.
  requestTimeoutSec: 900,
  // The client SDK gives up on a transfer without progress after 60 s.
  idleTimeoutSec: 60,
  keepAliveTimeoutSec: 5,
  maxConnections: 1000,
  maxConnectionsPerAddress: 32,
};

/**
 * Parses the HTTP limits.
 *
 * @param raw - reads a trimmed variable (undefined when unset or blank)
 * @param problems - where a line is added per invalid variable
 * @returns the limits (defaults in place of invalid values)
 */
export function parseHttpLimits(raw: RawEnv, problems: string[]): HttpLimits {
  const d = HTTP_LIMIT_DEFAULTS;
  const env = envReader(raw, problems);
  const count = (name: string, def: number): number =>
    env.int(name, def, 0, 1_000_000, 'an integer from 0 (no cap) to 1000000');
  const limits: HttpLimits = {
    headersTimeoutSec: env.duration('HEADERS_TIMEOUT', d.headersTimeoutSec, 1, 3600),
    bodyTimeoutSec: env.duration('BODY_TIMEOUT', d.bodyTimeoutSec, 1, 3600),
    requestTimeoutSec: env.duration('REQUEST_TIMEOUT', d.requestTimeoutSec, 1, 86400),
    idleTimeoutSec: env.duration('IDLE_TIMEOUT', d.idleTimeoutSec, 1, 3600),
    keepAliveTimeoutSec: env.duration('KEEP_ALIVE_TIMEOUT', d.keepAliveTimeoutSec, 1, 3600),
    maxConnections: count('MAX_CONNECTIONS', d.maxConnections),
    maxConnectionsPerAddress: count('MAX_CONNECTIONS_PER_ADDRESS', d.maxConnectionsPerAddress),
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutSec > limits.requestTimeoutSec)
    env.problem('HEADERS_TIMEOUT: must not be longer than REQUEST_TIMEOUT');
  return limits;
}

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
export function parseStorageLimits(raw: RawEnv, problems: string[]): StorageLimits {
  const env = envReader(raw, problems);
  const maxBackupSize = env.size(
    'MAX_BACKUP_SIZE',
    50 * MIB,
    (n) => n >= 1 && n <= 5 * 1024 * MIB,
    'a size from 1 byte to 5GiB (bytes, or e.g. 50MiB)',
  );
  return {
    maxBackupSize,
    maxPendingUploads: env.int('MAX_PENDING_UPLOADS', 4, 1, 100),
    // Enough for a full backup of 4 MiB packs at the largest MAX_BACKUP_SIZE (5 GiB).
    maxPendingObjects: env.int('MAX_PENDING_OBJECTS', 2048, 1, 100_000),
    maxTotalStorage: env.size(
      'MAX_TOTAL_STORAGE',
      0,
      () => true,
      'a size (bytes, or e.g. 500GiB), 0 for no cap',
    ),
    minFreeSpace: env.size(
      'MIN_FREE_SPACE',
      2 * maxBackupSize,
      () => true,
      'a size (bytes, or e.g. 200MiB)',
    ),
  };
}
