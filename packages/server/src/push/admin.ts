/**
 * What `noah-backup admin` does (docs/PUSH.md §7), over the same configuration as
 * `serve` (src/config.ts: environment variables and the `--data` flag): run today's
 * trigger job once, and read the operator's figures. Each call opens the metadata store
 * named by DATABASE_URL and closes it again; logs go to stderr, so stdout carries only
 * the command's output.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type Clock, secureRandom, systemClock } from '@noah-backup/core/clock';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ServerConfig } from '../config.ts';
import { createLogger } from '../logging.ts';
import { createMetadataStore } from '../metadata/index.ts';
import type { MetadataStore, UserStorage } from '../stores/metadata.ts';
import type { PushJobRow } from '../stores/push.ts';
import { createPushRuntime } from './index.ts';
import { addDays, utcDay } from './day.ts';
import type { TriggerJobResult } from './job-types.ts';

/** Options of the admin calls. */
export interface AdminOptions {
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: JSON lines on stderr at the configured level. */
  logger?: Logger;
}

/** `admin stats`. */
export interface AdminStats {
  users: number;
  enabledUsers: number;
  /** Enabled users with a device and no backup within BACKUP_STALE_AFTER. */
  staleUsers: number;
  devices: number;
  backups: number;
  bytesStored: number;
  /** The users storing the most bytes, by opaque user id, largest first. */
  largestUsers: UserStorage[];
  lastJob: PushJobRow | null;
  /** Triggers of the 7 days before yesterday and how many led to a backup within a day. */
  triggers7d: { sent: number; succeededWithinDay: number };
}

function stderrLogger(config: ServerConfig): Logger {
  return createLogger({
    level: config.logLevel,
    destination: pino.destination({ fd: 2, sync: true }),
  });
}

async function withStore<T>(
  config: ServerConfig,
  logger: Logger,
  fn: (store: MetadataStore) => Promise<T>,
): Promise<T> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = await createMetadataStore(config.databaseUrl, {
    logger,
    ...(config.databaseAuthToken ? { authToken: config.databaseAuthToken } : {}),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Runs today's (UTC) trigger job once, now: without the BACKUP_SPREAD window, at most
 * PUSH_RATE messages per second. Another instance holding the day's lease
 * makes it return `lease_held` without sending; users already triggered today are
 * skipped, so running it again (or on two machines) never triggers a user twice.
 *
 * @param config - the server configuration
 * @param opts - clock and logger
 * @returns what the job did
 * @throws when the metadata store cannot be opened or fails
 * @example
 * ```ts
 * const r = await runTriggerJobOnce(loadConfig(process.env));
 * ```
 */
export async function runTriggerJobOnce(
  config: ServerConfig,
  opts: AdminOptions = {},
): Promise<TriggerJobResult> {
  const logger = opts.logger ?? stderrLogger(config);
  // "Now" means now: no BACKUP_SPREAD window; PUSH_RATE still caps the send rate.
  const now = { ...config, push: { ...config.push, spreadSec: 0 } };
  return withStore(config, logger, (store) =>
    createPushRuntime({
      config: now,
      store,
      clock: opts.clock ?? systemClock,
      random: secureRandom,
      logger,
      registry: new Registry(),
      holder: `admin-${randomUUID()}`,
    }).scheduler.runNow(),
  );
}

/** How many of the largest users `admin stats` lists by default. */
export const DEFAULT_TOP_USERS = 10;

/**
 * Reads users, enabled users, stale users, devices, backups, bytes stored, the largest
 * users, the last job and the last week's trigger outcomes.
 *
 * @param config - the server configuration
 * @param opts - clock, logger, and how many of the largest users to list
 * @returns the figures
 * @throws when the metadata store cannot be opened or fails
 */
export async function readAdminStats(
  config: ServerConfig,
  opts: AdminOptions & { top?: number } = {},
): Promise<AdminStats> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? stderrLogger(config);
  return withStore(config, logger, async (store) => {
    const now = clock.now();
    const today = utcDay(now);
    const base = await store.stats(now);
    const push = await store.pushStats(new Date(now.getTime() - config.push.staleAfterSec * 1000));
    const triggers7d = await store.triggerOutcomeStats(addDays(today, -8), addDays(today, -1));
    const largestUsers = await store.largestUsers(opts.top ?? DEFAULT_TOP_USERS);
    return {
      users: base.users,
      enabledUsers: base.enabledUsers,
      staleUsers: push.staleUsers,
      devices: push.devices,
      backups: base.backups,
      bytesStored: base.bytesStored,
      largestUsers,
      lastJob: push.lastJob,
      triggers7d,
    };
  });
}
