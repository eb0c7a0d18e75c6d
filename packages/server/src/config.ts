/**
 * Server configuration from environment variables (docs/OPERATIONS.md "Configuration
 * reference"). This module and its sections under src/config/ are the only place that
 * reads the environment: the rest of the server takes the typed {@link ServerConfig}.
 * Every value is validated at start; all problems are collected and reported in one
 * {@link ConfigError}, one line per bad variable. Parsing is pure: no I/O.
 * @module
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type HttpLimits,
  parseHttpLimits,
  parseStorageLimits,
  type StorageLimits,
} from './config/limits.ts';
import { type NoahCompatConfig, parseNoahCompat } from './config/noah.ts';
import { type PushConfig, parsePushConfig } from './config/push.ts';
import { envReader, httpBaseUrl } from './config/read.ts';
import { type Rollout, parseRollout } from './rollout.ts';

export { parseDuration, parseSize } from './config/read.ts';

/** Validated server configuration. Durations are in seconds, sizes in bytes. */
export interface ServerConfig extends StorageLimits {
  port: number;
  host: string;
  /** Base URL clients reach this server at (no trailing slash); fs blob URLs use it. */
  publicUrl: string;
  /** Absolute path of the data directory (SQLite file, fs blobs, signing key). */
  dataDir: string;
  databaseUrl: string;
  /** DATABASE_AUTH_TOKEN: the libSQL/Turso token when the URL carries none; null = none. */
  databaseAuthToken: string | null;
  blobStoreUrl: string;
  /**
   * The S3 region when BLOB_STORE_URL has no `region` parameter: AWS_REGION, else
   * AWS_DEFAULT_REGION, else us-east-1.
   */
  s3DefaultRegion: string;
  /** HMAC key of the fs blob store's signed URLs; null = generated and kept in DATA_DIR. */
  blobSigningSecret: string | null;
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
  tokenTtlSec: number;
  k1TtlSec: number;
  rollout: Rollout;
  /**
   * Requests per minute; 0 disables that limit. `auth`: getk1 + login per client
   * address; `user`: the backup and push routes per user; `blob`: the fs store's signed
   * URLs per client address; `badToken`: requests with an invalid bearer token per
   * client address.
   */
  rateLimit: {
    authPerMinute: number;
    userPerMinute: number;
    blobPerMinute: number;
    badTokenPerMinute: number;
  };
  /** Timeouts and connection caps (applied by src/http/limits.ts). */
  http: HttpLimits;
  logLevel: string;
  /** Fastify `trustProxy`: false, true, a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  /** Period of the sweeper; 0 disables the timer (tests call the sweeper directly). */
  sweepIntervalSec: number;
  /** Unreferenced objects younger than this are never swept as orphans. */
  orphanMinAgeSec: number;
  /**
   * SCRUB_PERIOD_DAYS: the scrub reads every stored object within this many days, a
   * share a day (docs/OPERATIONS.md "Scrub"); 0 disables it.
   */
  scrubPeriodDays: number;
  /** How long a stop waits for requests in flight before it closes their connections. */
  shutdownTimeoutSec: number;
  /** Push senders and the daily trigger (src/config/push.ts). */
  push: PushConfig;
  /** NOAH_COMPAT=1: Noah's app served as it is (src/config/noah.ts); null = off. */
  noahCompat: NoahCompatConfig | null;
}

/** Values the CLI flags override (`noah-backup serve --port --host --data`). */
export interface ConfigOverrides {
  port?: number | string;
  host?: string;
  dataDir?: string;
}

/** One or more configuration values are invalid; `problems` has one line per value. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseTrustProxy(text: string): boolean | number | string[] | null {
  const t = text.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false' || t === '') return false;
  if (/^\d+$/.test(t)) return Number(t);
  const list = t.split(',').map((s) => s.trim());
  return list.every((s) => /^[0-9a-f.:/]+$/.test(s) && s.length > 0) ? list : null;
}

/** Plaintext bytes of the packs clients write (docs/FORMAT.md §8.2). */
const PACK_BYTES = 4 * 2 ** 20;

/**
 * The default of RATE_LIMIT_BLOB_PER_MINUTE: one client's full backup of MAX_BACKUP_SIZE
 * (a PUT per 4 MiB pack, and its manifest) and a restore of it (a GET each) within one
 * minute, with room for resumed transfers; never below 120. A fixed 120 throttled the
 * first backup of a 1 GiB wallet (256 packs) for two minutes of 429s; the bound still
 * caps a client address at about two of the largest backups a minute.
 * @param maxBackupSize - MAX_BACKUP_SIZE in bytes
 * @returns requests per minute per client address
 */
export function defaultBlobPerMinute(maxBackupSize: number): number {
  return Math.max(120, 2 * (Math.ceil(maxBackupSize / PACK_BYTES) + 1) + 16);
}

/**
 * Reads and validates the configuration. CLI overrides win over the environment.
 *
 * @param env - usually `process.env`
 * @param overrides - values from command-line flags
 * @returns the validated configuration
 * @throws ConfigError listing every invalid variable (one line each)
 * @example
 * ```ts
 * const config = loadConfig(process.env, { port: 9000 });
 * ```
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  overrides: ConfigOverrides = {},
): ServerConfig {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const { int, duration } = envReader(raw, problems);

  const port =
    overrides.port === undefined
      ? int('PORT', 8080, 0, 65535)
      : int('--port', 8080, 0, 65535, undefined, String(overrides.port));
  const host = overrides.host ?? raw('HOST') ?? '127.0.0.1';

  const publicUrlText = raw('PUBLIC_URL') ?? `http://localhost:${port}`;
  const publicUrl = httpBaseUrl(publicUrlText);
  if (publicUrl === null)
    problems.push(
      `PUBLIC_URL=${JSON.stringify(publicUrlText)}: must be an http(s) URL without query, e.g. https://backup.example.com`,
    );

  const dataDir = resolve(overrides.dataDir ?? raw('DATA_DIR') ?? './data');
  const databaseUrl = raw('DATABASE_URL') ?? `sqlite:${join(dataDir, 'noah.db')}`;
  const databaseAuthToken = raw('DATABASE_AUTH_TOKEN') ?? null;
  const s3DefaultRegion = raw('AWS_REGION') ?? raw('AWS_DEFAULT_REGION') ?? 'us-east-1';
  const blobStoreUrl = raw('BLOB_STORE_URL') ?? pathToFileURL(join(dataDir, 'blobs')).href;
  if (!/^(file|s3):/i.test(blobStoreUrl))
    problems.push(
      `BLOB_STORE_URL=${JSON.stringify(blobStoreUrl.replace(/\/\/[^@/]*@/, '//***@'))}: must be a file:// or s3:// URL`,
    );

  const blobSigningSecret = raw('BLOB_SIGNING_SECRET') ?? null;
  if (blobSigningSecret !== null && blobSigningSecret.length < 32)
    problems.push('BLOB_SIGNING_SECRET: must be at least 32 characters (e.g. 64 hex digits)');

  const storage = parseStorageLimits(raw, problems);

  // S3 pre-signed URLs live at most 7 days (SigV4).
  const uploadUrlTtlSec = duration('UPLOAD_URL_TTL', 900, 1, 604800);
  const downloadUrlTtlSec = duration('DOWNLOAD_URL_TTL', 300, 1, 604800);
  const tokenTtlSec = duration('TOKEN_TTL', 86400, 60, 365 * 86400);
  const k1TtlSec = duration('K1_TTL', 600, 1, 86400);
  const sweepIntervalSec = duration('SWEEP_INTERVAL', 300, 0, 86400);
  const orphanMinAgeSec = duration('ORPHAN_MIN_AGE', 3600, 60, 30 * 86400);
  const shutdownTimeoutSec = duration('SHUTDOWN_TIMEOUT', 10, 0, 3600);
  const scrubPeriodDays = int('SCRUB_PERIOD_DAYS', 30, 0, 3650);

  let rollout = parseRollout('all')!;
  const rolloutText = raw('ROLLOUT');
  if (rolloutText !== undefined) {
    const r = parseRollout(rolloutText);
    if (r === null)
      problems.push(
        `ROLLOUT=${JSON.stringify(rolloutText)}: must be "all", "off" or "percent:N" with N from 0 to 100`,
      );
    else rollout = r;
  }

  const rateLimit = {
    authPerMinute: int('RATE_LIMIT_AUTH_PER_MINUTE', 30, 0, 1e6),
    userPerMinute: int('RATE_LIMIT_USER_PER_MINUTE', 120, 0, 1e6),
    blobPerMinute: int(
      'RATE_LIMIT_BLOB_PER_MINUTE',
      defaultBlobPerMinute(storage.maxBackupSize),
      0,
      1e6,
    ),
    badTokenPerMinute: int('RATE_LIMIT_BAD_TOKEN_PER_MINUTE', 30, 0, 1e6),
  };
  const http = parseHttpLimits(raw, problems);

  const logLevel = (raw('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: must be one of ${LOG_LEVELS.join(', ')}`);

  let trustProxy: boolean | number | string[] = false;
  const tpText = raw('TRUST_PROXY');
  if (tpText !== undefined) {
    const tp = parseTrustProxy(tpText);
    if (tp === null)
      problems.push(
        `TRUST_PROXY=${JSON.stringify(tpText)}: must be true, false, a hop count, or comma-separated IPs/CIDRs`,
      );
    else trustProxy = tp;
  }

  const push = parsePushConfig(raw, problems);
  const noahCompat = parseNoahCompat(raw, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    publicUrl: publicUrl ?? publicUrlText,
    dataDir,
    databaseUrl,
    databaseAuthToken,
    blobStoreUrl,
    s3DefaultRegion,
    blobSigningSecret,
    ...storage,
    uploadUrlTtlSec,
    downloadUrlTtlSec,
    tokenTtlSec,
    k1TtlSec,
    rollout,
    rateLimit,
    http,
    logLevel,
    trustProxy,
    sweepIntervalSec,
    orphanMinAgeSec,
    scrubPeriodDays,
    shutdownTimeoutSec,
    push,
    noahCompat,
  };
}
