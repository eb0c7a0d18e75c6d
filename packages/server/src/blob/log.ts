/**
 * What every blob store takes besides its location: the slice of a pino/Fastify logger
 * it uses (stores never pass pre-signed URLs, signatures or signing keys to it), the
 * clock and the object size limit.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';

/** A structured logger (pino's `(obj, msg)` call shape). */
export interface BlobLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default when none is given. */
export const silentLogger: BlobLogger = { info: () => {}, warn: () => {} };

/** Options every blob store takes, whatever its backend. */
export interface BlobStoreCommonOptions {
  /** Source of "now" for URL expiry and object ages. Default: the system clock. */
  clock?: Clock;
  /**
   * Largest object accepted, in bytes (MAX_BACKUP_SIZE): presignPut refuses larger sizes,
   * and the fs store answers larger PUTs with 413.
   */
  maxObjectSize: number;
  logger?: BlobLogger;
}
