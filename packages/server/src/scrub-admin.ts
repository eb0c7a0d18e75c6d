/**
 * `noah-backup admin scrub` (docs/OPERATIONS.md "Scrub"): one scrub, now, on the stores
 * of the server configuration — the daily share by default, every object with `all`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { pino } from 'pino';
import { createBlobStore } from './blob/index.ts';
import type { ServerConfig } from './config.ts';
import { createLogger } from './logging.ts';
import { createMetadataStore } from './metadata/index.ts';
import { type ScrubResult, scrub, scrubShare } from './scrub.ts';

/**
 * Runs one scrub of the configured stores.
 *
 * @param config - the server configuration
 * @param opts.all - read every stored object (default: the daily share of SCRUB_PERIOD_DAYS)
 * @returns what it read and found
 * @throws when a store cannot be opened or fails
 */
export async function runScrubOnce(
  config: ServerConfig,
  opts: { all?: boolean; clock?: Clock } = {},
): Promise<ScrubResult & { stored: number }> {
  const clock = opts.clock ?? systemClock;
  const logger = createLogger({
    level: config.logLevel,
    destination: pino.destination({ fd: 2, sync: true }),
  });
  mkdirSync(config.dataDir, { recursive: true });
  const metadata = await createMetadataStore(config.databaseUrl, { logger });
  try {
    const blobs = await createBlobStore(config.blobStoreUrl, {
      publicUrl: config.publicUrl,
      clock,
      maxObjectSize: config.maxBackupSize,
      logger,
      // The scrub signs no URL; a throwaway key spares the fs store's warning.
      signingSecret: new Uint8Array(randomBytes(32)),
    });
    try {
      const stored = await metadata.countStoredObjects();
      const period = Math.max(config.scrubPeriodDays, 1);
      const limit = opts.all ? stored : scrubShare(stored, period);
      return { stored, ...(await scrub({ metadata, blobs, clock, logger }, { limit })) };
    } finally {
      await blobs.close?.();
    }
  } finally {
    await metadata.close();
  }
}
