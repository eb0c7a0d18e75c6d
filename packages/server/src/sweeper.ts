/**
 * The sweeper (docs/OPERATIONS.md "The sweeper": abandoned uploads and orphaned objects
 * are swept by a periodic job): a standalone function over the two stores and the clock,
 * so a test runs it directly, plus a timer that runs it on one instance at a
 * time (a lease in the metadata store). It never deletes an object that a completed
 * backup or a live pending upload references.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { OBJECT_PREFIX } from './blob/keys.ts';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import type { BlobStore } from './stores/blob.ts';
import type { MetadataStore } from './stores/metadata.ts';

/** What one sweep did. */
export interface SweepResult {
  /** Expired pending uploads removed (row, and object when unreferenced). */
  expiredUploads: number;
  /** Queued object deletions that succeeded. */
  queuedDeletions: number;
  /** Unreferenced objects older than the minimum age that were deleted. */
  orphans: number;
  challenges: number;
  sessions: number;
  /** Store failures met (the sweep goes on with the next phase; the next run retries). */
  errors: number;
}

/** Inputs of {@link sweep}. */
export interface SweepDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  /** Unreferenced objects younger than this are left alone (uploads in flight). */
  orphanMinAgeSec: number;
  /**
   * Lifetime of upload URLs: an unreferenced object is never swept as an orphan before
   * an upload URL for its key can have expired (default 0).
   */
  uploadUrlTtlSec?: number;
  /**
   * How long a PUT may still run after its URL expired (REQUEST_TIMEOUT; default 0): the
   * key of an expired upload keeps an empty placeholder that long, so such a PUT cannot
   * store an object after the sweep (docs/OPERATIONS.md "Storage bounds").
   */
  inFlightGraceSec?: number;
  /** Expired sessions are kept this long so clients get `token_expired` (default 1 day). */
  sessionGraceSec?: number;
  /** Rows per store query (default 100). */
  batchSize?: number;
  logger?: Logger;
  metrics?: Metrics;
}

/**
 * Runs one sweep:
 * 1. expired pending uploads: the row first, then the object unless something
 *    references it. Row before object, because a completion racing the sweep either
 *    commits first (then the object is referenced and kept) or finds no pending row
 *    (then `completeUpload` refuses it) — never a committed backup without its object.
 *    While a PUT that started before the URL expired may still run, the key is retired
 *    (emptied, still refusing PUTs) instead, and its deletion queued for later;
 * 2. queued object deletions that are due (failed deletes, and the placeholders of
 *    retired keys once their URLs are dead): retried;
 * 3. orphans: objects under `b/` that nothing references, older than `orphanMinAgeSec`
 *    and than an upload URL plus a PUT in flight can live;
 * 4. expired challenges and sessions.
 *
 * @param deps - stores, clock and limits
 * @returns counts of what was removed
 * @example
 * ```ts
 * const r = await sweep({ metadata, blobs, clock, orphanMinAgeSec: 3600 });
 * ```
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  const { metadata, blobs, clock, logger, metrics } = deps;
  const batch = deps.batchSize ?? 100;
  const r: SweepResult = {
    expiredUploads: 0,
    queuedDeletions: 0,
    orphans: 0,
    challenges: 0,
    sessions: 0,
    errors: 0,
  };
  const failed = (phase: string, err: unknown) => {
    r.errors++;
    logger?.warn({ err, phase }, 'sweep phase failed; will retry on the next run');
  };
  const graceMs = (deps.inFlightGraceSec ?? 0) * 1000;
  const removeObject = async (key: string, reason: string, urlExpiresAt?: Date) => {
    if (await metadata.isObjectReferenced(key)) return false;
    const dead = urlExpiresAt && new Date(urlExpiresAt.getTime() + graceMs);
    if (dead && dead > clock.now()) {
      // A PUT begun before its URL expired may still be running: keep the key taken.
      await metadata.enqueueObjectDeletion(key, clock.now(), dead);
      await blobs.retire(key);
      return true;
    }
    try {
      await blobs.delete(key);
      metrics?.sweptObjects.inc({ reason });
      return true;
    } catch (err) {
      await metadata.enqueueObjectDeletion(key, clock.now());
      throw err;
    }
  };

  try {
    for (;;) {
      const rows = await metadata.listExpiredPendingUploads(clock.now(), batch);
      for (const row of rows) {
        await metadata.deletePendingUpload(row.objectKey);
        r.expiredUploads++;
        await removeObject(row.objectKey, 'abandoned', row.expiresAt);
      }
      if (rows.length < batch) break;
    }
  } catch (err) {
    failed('expired_uploads', err);
  }

  try {
    const seen = new Set<string>();
    for (;;) {
      const keys = (await metadata.listObjectDeletions(batch, clock.now())).filter(
        (k) => !seen.has(k),
      );
      for (const key of keys) {
        seen.add(key);
        if (await metadata.isObjectReferenced(key)) {
          // Never delete what a backup or pending upload points at; drop the entry.
          await metadata.removeObjectDeletion(key);
          continue;
        }
        await blobs.delete(key);
        await metadata.removeObjectDeletion(key);
        metrics?.sweptObjects.inc({ reason: 'queued' });
        r.queuedDeletions++;
      }
      if (keys.length === 0) break;
    }
  } catch (err) {
    failed('queued_deletions', err);
  }

  try {
    const minAgeSec = Math.max(
      deps.orphanMinAgeSec,
      (deps.uploadUrlTtlSec ?? 0) + (deps.inFlightGraceSec ?? 0),
    );
    const cutoff = clock.now().getTime() - minAgeSec * 1000;
    for await (const obj of blobs.list(OBJECT_PREFIX)) {
      if (obj.lastModified.getTime() > cutoff) continue;
      if (await removeObject(obj.key, 'orphan')) r.orphans++;
    }
  } catch (err) {
    failed('orphans', err);
  }

  try {
    const now = clock.now();
    r.challenges = await metadata.pruneChallenges(now);
    const grace = (deps.sessionGraceSec ?? 86400) * 1000;
    r.sessions = await metadata.pruneSessions(new Date(now.getTime() - grace));
  } catch (err) {
    failed('prune', err);
  }
  return r;
}

/**
 * Runs {@link sweep} every `intervalSec` on whichever instance holds the `sweeper` lease.
 *
 * @param deps - as for {@link sweep}, plus this instance's lease holder id
 * @param intervalSec - period; the timer does not keep the process alive
 * @returns `stop()`, which waits for a running sweep to finish
 */
export function startSweeper(
  deps: SweepDeps & { holder: string },
  intervalSec: number,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = (async () => {
      const ttlMs = intervalSec * 2000;
      if (!(await deps.metadata.tryAcquireLease('sweeper', deps.holder, deps.clock.now(), ttlMs)))
        return;
      const result = await sweep(deps);
      deps.logger?.info({ sweep: result }, 'sweep done');
    })()
      .catch((err: unknown) => deps.logger?.warn({ err }, 'sweep failed'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalSec * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await deps.metadata.releaseLease('sweeper', deps.holder).catch(() => {});
    },
  };
}
