/**
 * The bucket audit after the load: the servers' own sweeper (packages/server/src/sweeper.ts)
 * runs once more, then every object left in the bucket must be referenced by the
 * metadata, and (checked by the caller) their number must equal the number of backups
 * the devices list.
 * @module
 */
import { createBlobStore } from '@noah-backup/server/blob/index';
import { createMetadataStore } from '@noah-backup/server/metadata/index';
import { sweep } from '@noah-backup/server/sweeper';

/** What the audit found. */
export interface Audit {
  /** What the sweep removed, by phase. */
  swept: Record<string, number>;
  /** Every object key in the bucket after the sweep. */
  keys: string[];
  /** Those that nothing references. */
  orphans: string[];
  /** Pending uploads left (none may be: the load is over and their URLs have expired). */
  pendingLeft: number;
}

/** How far past the load the sweep's clock is set: beyond every URL's life and the orphan age. */
const LATER_MS = 10 * 60_000;

/**
 * Sweeps, then lists the bucket and asks the metadata about every object.
 * @param databaseUrl - the servers' DATABASE_URL
 * @param storeUrl - the bucket, directly (not through the fault injector)
 * @param orphanMinAgeSec - the servers' ORPHAN_MIN_AGE
 */
export async function sweepAndAudit(
  databaseUrl: string,
  storeUrl: string,
  orphanMinAgeSec: number,
): Promise<Audit> {
  const metadata = await createMetadataStore(databaseUrl);
  const blobs = await createBlobStore(storeUrl, {
    publicUrl: 'http://127.0.0.1',
    maxObjectSize: 50 * 2 ** 20,
  });
  try {
    // No client is left, so every pending upload is abandoned: the sweep the servers'
    // timer would run minutes from now, with its clock there (S3 requests are still
    // signed with the real time).
    const clock = { now: () => new Date(Date.now() + LATER_MS) };
    const swept = await sweep({ metadata, blobs, clock, orphanMinAgeSec });
    const keys: string[] = [];
    for await (const obj of blobs.list('')) keys.push(obj.key);
    const orphans: string[] = [];
    for (const k of keys) if (!(await metadata.isObjectReferenced(k))) orphans.push(k);
    const pendingLeft = (await metadata.listExpiredPendingUploads(clock.now(), 1000)).length;
    return { swept: { ...swept }, keys, orphans, pendingLeft };
  } finally {
    await blobs.close?.();
    await metadata.close();
  }
}
