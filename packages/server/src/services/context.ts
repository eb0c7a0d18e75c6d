/**
 * What the backup service's parts share (services/backups.ts, uploads.ts,
 * completion.ts): the stores, the limits, the blob-store call wrapper that turns
 * failures into 503/507, and the dropping of objects no backup references any more
 * (services/storage.ts).
 * @module
 */
import type { BackupInfo, Verification } from '@noah-backup/core/api';
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import { apiError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { Rollout } from '../rollout.ts';
import { type BlobStore, BlobStoreFullError } from '../stores/blob.ts';
import type { BackupRow, MetadataStore, UserRow } from '../stores/metadata.ts';
import {
  createFreeSpaceCheck,
  createObjectDropper,
  createStorageCap,
  storageFull,
} from './storage.ts';

/** Limits and lifetimes the service enforces. */
export interface BackupLimits {
  maxBackupSize: number;
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
  /** `upload_url` uploads a user may hold; times maxBackupSize, the pending bytes. */
  maxPendingUploads: number;
  /** `upload_urls` objects a user may hold. */
  maxPendingObjects: number;
  /** The operator's total cap in bytes (0 = none). */
  maxTotalStorage: number;
  /** How long a PUT may still run after its URL expired (REQUEST_TIMEOUT). */
  inFlightGraceSec: number;
  /** Free bytes a local store's disk keeps (MIN_FREE_SPACE). */
  minFreeSpace: number;
  rollout: Rollout;
}

/** The service's dependencies. */
export interface ServiceDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  random: RandomBytes;
  metrics: Metrics;
  logger: Logger;
  limits: BackupLimits;
}

/** The dependencies and the helpers built on them. */
export interface ServiceContext extends ServiceDeps {
  /** Runs a blob-store call; any failure is a 503 (a full store a 507). */
  storage<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Drops objects no backup references whose upload URLs expired by `urlExpiresAt`
   * (services/storage.ts). Never throws: what it could not drop is queued for the
   * sweeper, or left to its orphan pass.
   */
  dropObjects(keys: readonly string[], urlExpiresAt: Date): Promise<void>;
  /** When the upload URL of a backup completed at `createdAt` expired, at the latest. */
  urlDeadline(createdAt: Date): Date;
  /** The operator's total cap (MAX_TOTAL_STORAGE). */
  cap: { check(growth: number): Promise<void>; refund(growth: number): void };
  /** The free-space check of a local store's disk (MIN_FREE_SPACE). */
  room: { check(size: number): Promise<void> };
  /** The user, or 401. */
  requireUser(userId: string): Promise<UserRow>;
  /** The per-user limits of pending uploads, for `reservePendingUploads`. */
  pendingLimits: { maxUploads: number; maxObjects: number; maxBytes: number };
}

/** Blob-store deletions at once, at most (a replaced backup may release many objects). */
const DROP_CONCURRENCY = 8;

/**
 * Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure
 * after every started call settled.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { err: unknown }).err;
}

/**
 * A completed backup as `list` and `complete_upload` answer it, with its verification
 * (docs/API.md "Verification"): none for a backup just completed.
 */
export function backupInfo(row: BackupRow, verification: Verification | null = null): BackupInfo {
  return {
    backup_version: row.version,
    created_at: row.createdAt.toISOString(),
    backup_size: row.size,
    total_size: row.totalSize,
    object_count: row.objectCount,
    verification,
  };
}

/**
 * Builds the shared context.
 *
 * @param deps - stores, clock, randomness, metrics, logger and limits
 * @returns the context
 */
export function createServiceContext(deps: ServiceDeps): ServiceContext {
  const { metadata, blobs, clock, logger, limits } = deps;
  const dropObject = createObjectDropper({
    metadata,
    blobs,
    clock,
    logger,
    inFlightGraceSec: limits.inFlightGraceSec,
  });
  return {
    ...deps,
    async storage(what, fn) {
      try {
        return await fn();
      } catch (err) {
        logger.warn({ err, op: what, store: blobs.kind }, 'blob store call failed');
        if (err instanceof BlobStoreFullError) throw storageFull('the blob store is full');
        throw apiError('storage_unavailable', undefined, { cause: err });
      }
    },
    async dropObjects(keys, urlExpiresAt) {
      try {
        await eachLimited(keys, DROP_CONCURRENCY, (key) => dropObject(key, urlExpiresAt));
      } catch (err) {
        // The metadata could not even queue them: nothing references them, so the
        // sweeper's orphan pass removes them (docs/OPERATIONS.md "The sweeper").
        logger.warn({ err, objects: keys.length }, 'dropping unreferenced objects failed');
      }
    },
    urlDeadline: (createdAt) => new Date(createdAt.getTime() + limits.uploadUrlTtlSec * 1000),
    cap: createStorageCap({ metadata, clock, maxTotalStorage: limits.maxTotalStorage }),
    room: createFreeSpaceCheck({ metadata, blobs, minFreeSpace: limits.minFreeSpace }),
    async requireUser(userId) {
      const user = await metadata.getUser(userId);
      if (!user) throw apiError('unauthorized');
      return user;
    },
    pendingLimits: {
      maxUploads: limits.maxPendingUploads,
      maxObjects: limits.maxPendingObjects,
      // A configuration may lift the count limit (the benchmarks do): no overflow.
      maxBytes: Math.min(Number.MAX_SAFE_INTEGER, limits.maxPendingUploads * limits.maxBackupSize),
    },
  };
}
