/**
 * The scrub (docs/OPERATIONS.md "Scrub"): without any key, re-reads stored objects and
 * compares each with the size and SHA-256 recorded at completion, so bit rot and lost
 * objects are found before a restore needs them. A standalone function over the two
 * stores and the clock, and a timer that runs it once a UTC day on one instance (a
 * lease), on the least recently read share of the objects so each is read within the
 * period. Findings are a metric (`noah_scrub_mismatches_total{reason}`) and a log line
 * naming the object key and the user id (no secret: keys are opaque).
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import type { BlobStore } from './stores/blob.ts';
import type { MetadataStore } from './stores/metadata.ts';

/** Why an object failed the scrub. */
export type ScrubReason = 'missing' | 'size' | 'checksum';

/** One object that failed. */
export interface ScrubFinding {
  objectKey: string;
  userId: string;
  reason: ScrubReason;
}

/** What one scrub did. */
export interface ScrubResult {
  /** Objects read. */
  checked: number;
  /** Objects that had no checksum and got the one read now. */
  filled: number;
  findings: ScrubFinding[];
}

/** Inputs of {@link scrub}. */
export interface ScrubDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  metrics?: Pick<Metrics, 'scrubMismatches' | 'scrubbedObjects'>;
}

/**
 * How many objects a daily scrub reads so that each is read within `periodDays`.
 * @example scrubShare(1000, 30) // 34
 */
export function scrubShare(objects: number, periodDays: number): number {
  if (!Number.isSafeInteger(periodDays) || periodDays < 1)
    throw new RangeError('periodDays must be a positive integer');
  return Math.ceil(objects / periodDays);
}

/**
 * Reads the `limit` least recently scrubbed objects (all when `limit` is absent) and
 * reports every one missing or not matching its recorded size and SHA-256. An object
 * released while it was read is not a finding. Store failures throw.
 */
export async function scrub(deps: ScrubDeps, opts: { limit?: number } = {}): Promise<ScrubResult> {
  const { metadata, blobs, clock } = deps;
  const limit = opts.limit ?? (await metadata.countStoredObjects());
  const r: ScrubResult = { checked: 0, filled: 0, findings: [] };
  for (const row of await metadata.listScrubDue(limit)) {
    const got = await blobs.digest(row.objectKey);
    r.checked++;
    deps.metrics?.scrubbedObjects.inc();
    let reason: ScrubReason | null = null;
    if (got === null) reason = 'missing';
    else if (got.size !== row.size) reason = 'size';
    else if (row.sha256 !== null && got.sha256 !== row.sha256) reason = 'checksum';
    // Released meanwhile (a newer backup, a delete): no longer ours to judge.
    if (reason && (await metadata.getObjectChecksums([row.objectKey])).length === 0) continue;
    if (reason) {
      r.findings.push({ objectKey: row.objectKey, userId: row.userId, reason });
      deps.metrics?.scrubMismatches.inc({ reason });
      deps.logger?.error(
        { objectKey: row.objectKey, userId: row.userId, reason },
        'scrub: stored object is damaged or missing',
      );
    }
    const fill = reason === null && row.sha256 === null && got !== null;
    if (fill) r.filled++;
    await metadata.markScrubbed(row.objectKey, clock.now(), fill ? got.sha256 : undefined);
  }
  deps.logger?.info(
    { checked: r.checked, filled: r.filled, mismatches: r.findings.length },
    'scrub done',
  );
  return r;
}

const HOUR_MS = 3600_000;

/**
 * Runs {@link scrub} once per UTC day on whichever instance takes the `scrub` lease
 * (held to the end of the day), over `scrubShare(objects, periodDays)` objects.
 *
 * @param deps - as for {@link scrub}, plus this instance's lease holder id
 * @param periodDays - every object is read within this many days
 * @returns `stop()`, which waits for a running scrub to finish
 */
export function startScrubber(
  deps: ScrubDeps & { holder: string },
  periodDays: number,
): { stop(): Promise<void> } {
  scrubShare(0, periodDays);
  let running: Promise<void> | null = null;
  let lastDay = '';
  const tick = () => {
    const now = deps.clock.now();
    const day = now.toISOString().slice(0, 10);
    if (running || day === lastDay) return;
    running = (async () => {
      const endOfDay = Date.parse(`${day}T00:00:00Z`) + 24 * HOUR_MS;
      const ttl = endOfDay - now.getTime();
      if (!(await deps.metadata.tryAcquireLease('scrub', deps.holder, now, ttl))) return;
      lastDay = day;
      const objects = await deps.metadata.countStoredObjects();
      await scrub(deps, { limit: scrubShare(objects, periodDays) });
    })()
      .catch((err: unknown) => deps.logger?.warn({ err }, 'scrub failed'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, HOUR_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
