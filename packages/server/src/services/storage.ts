/**
 * Storage accounting for the backup service (docs/OPERATIONS.md "Storage bounds"):
 * the operator's total cap (MAX_TOTAL_STORAGE), and the retirement of objects that no
 * backup references any more but whose upload URL may still be used.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import { apiError, STORAGE_FULL_RETRY_AFTER_SEC } from '../errors.ts';
import type { BlobStore } from '../stores/blob.ts';
import type { MetadataStore } from '../stores/metadata.ts';

/** How long a total read from the database is reused (the cap is checked per upload). */
export const USAGE_CACHE_MS = 10_000;

/** The refusal of an upload for lack of space; `why` is public (no paths, no secrets). */
export function storageFull(why: string) {
  return apiError('storage_full', `${why}; nothing was changed, retry later`, {
    headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_SEC) },
  });
}

/**
 * The total cap: bytes of completed backups and of pending uploads, read from the
 * metadata at most every {@link USAGE_CACHE_MS}, plus what this instance has handed out
 * since. Soft by that margin on N instances (each counts its own grants between reads).
 *
 * @param deps - the metadata store, the clock and the cap (0 = none)
 * @returns `check(growth)`, which throws 507 `storage_full` when `growth` more bytes
 *   would pass the cap and otherwise counts them, and `refund(growth)`, which uncounts
 *   what a request that then failed had counted
 */
export function createStorageCap(deps: {
  metadata: MetadataStore;
  clock: Clock;
  maxTotalStorage: number;
}): { check(growth: number): Promise<void>; refund(growth: number): void } {
  let cached: { bytes: number; at: number } | null = null;
  return {
    async check(growth) {
      if (deps.maxTotalStorage <= 0) return;
      const now = deps.clock.now();
      if (!cached || now.getTime() - cached.at >= USAGE_CACHE_MS) {
        const u = await deps.metadata.storageUsage(now);
        cached = { bytes: u.backupBytes + u.pendingBytes, at: now.getTime() };
      }
      if (growth > 0 && cached.bytes + growth > deps.maxTotalStorage)
        throw storageFull('the server has reached its storage limit');
      cached.bytes += Math.max(0, growth);
    },
    refund(growth) {
      if (cached) cached.bytes = Math.max(0, cached.bytes - Math.max(0, growth));
    },
  };
}

/**
 * The free-space check of an upload (docs/OPERATIONS.md "A full disk"): refused when the
 * disk of the fs blob store would keep less than `minFreeSpace` after it, or the disk
 * of a local database has less than that — before the client uploads anything. Stores
 * without a disk of their own (S3, PostgreSQL) are not checked.
 *
 * @param deps - the stores and MIN_FREE_SPACE
 * @returns `check(size)`, which throws 507 `storage_full`
 */
export function createFreeSpaceCheck(deps: {
  metadata: MetadataStore;
  blobs: BlobStore;
  minFreeSpace: number;
}): { check(size: number): Promise<void> } {
  const free = async (store: { freeBytes?(): Promise<number> }) =>
    store.freeBytes ? store.freeBytes().catch(() => Number.POSITIVE_INFINITY) : Infinity;
  return {
    async check(size) {
      if ((await free(deps.blobs)) < size + deps.minFreeSpace)
        throw storageFull("the server's disk has no room for this upload");
      if ((await free(deps.metadata)) < deps.minFreeSpace)
        throw storageFull("the server's database disk is full");
    },
  };
}

/**
 * Drops an object no backup references: at once when no upload URL for it can be used
 * any more, else (docs/OPERATIONS.md "Storage bounds") its key is retired — emptied, but
 * still refusing PUTs — and the placeholder deleted by the sweeper once the URL, and a
 * PUT that started just before its expiry, are over. A failed blob call queues the key
 * for the sweeper; nothing is thrown.
 *
 * @param deps - stores, clock, logger and how long a PUT may still run after its URL expired
 * @returns `drop(key, urlExpiresAt)`
 */
export function createObjectDropper(deps: {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  logger: Logger;
  inFlightGraceSec: number;
}): (objectKey: string, urlExpiresAt: Date) => Promise<void> {
  const { metadata, blobs, clock, logger } = deps;
  return async (objectKey, urlExpiresAt) => {
    const now = clock.now();
    const dead = new Date(urlExpiresAt.getTime() + deps.inFlightGraceSec * 1000);
    if (dead <= now) {
      try {
        await blobs.delete(objectKey);
      } catch (err) {
        logger.warn({ err, objectKey }, 'object delete failed; queued for the sweeper');
        await metadata.enqueueObjectDeletion(objectKey, now);
      }
      return;
    }
    try {
      await blobs.retire(objectKey);
    } catch (err) {
      // The object stays whole until the queued deletion; write-once still holds for an
      // uploaded one.
      logger.warn({ err, objectKey }, 'object retire failed; its deletion is queued');
    }
    await metadata.enqueueObjectDeletion(objectKey, now, dead);
  };
}
