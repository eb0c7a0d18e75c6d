/**
 * Server configuration from environment variables (issue 3 item 1; docs/OPERATIONS.md
 * "Configuration"). Every value is validated at start; all problems are collected and
 * reported in one {@link ConfigError}, one line per bad variable. Parsing is pure: the
 * only I/O here is {@link loadOrCreateSigningSecret}, which the start-up code calls.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensurePrivateDir, restrictToOwner } from './local-files.ts';
import { type HttpLimits, parseHttpLimits } from './http/limits.ts';
import { type PushConfig, parsePushConfig } from './push/config.ts';
import { type Rollout, parseRollout } from './rollout.ts';
import { parseStorageLimits, type StorageLimits } from './storage-limits.ts';

/** Validated server configuration. Durations are in seconds, sizes in bytes. */
export interface ServerConfig extends StorageLimits {
  port: number;
  host: string;
  /** Base URL clients reach this server at (no trailing slash); fs blob URLs use it. */
  publicUrl: string;
  /** Absolute path of the data directory (SQLite file, fs blobs, signing key). */
  dataDir: string;
  databaseUrl: string;
  blobStoreUrl: string;
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
  /** Timeouts and connection caps (src/http/limits.ts). */
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
  /** Push senders and the daily trigger (src/push/config.ts). */
  push: PushConfig;
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

const MIB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: MIB,
  gib: 1024 * MIB,
};
const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a byte size: a plain integer, or a number with a unit (`B`, `KB`, `MB`, `GB`
 * decimal; `KiB`, `MiB`, `GiB` binary), case-insensitive.
 *
 * @param text - e.g. `"52428800"`, `"50MiB"`, `"1.5 GB"`
 * @returns the size in bytes, or null when `text` is not a size
 * @example
 * ```ts
 * parseSize('50MiB'); // 52428800
 * ```
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = SIZE_UNITS[m?.[2]?.toLowerCase() ?? 'x'];
  if (!m || unit === undefined) return null;
  const n = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses a duration: plain seconds, or an integer with `s`, `m`, `h` or `d`.
 *
 * @param text - e.g. `"900"`, `"15m"`, `"24h"`
 * @returns whole seconds, or null when `text` is not a duration
 * @example
 * ```ts
 * parseDuration('24h'); // 86400
 * ```
 */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  const unit = DURATION_UNITS[m?.[2]?.toLowerCase() ?? 'x'];
  if (!m || unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

function parseTrustProxy(text: string): boolean | number | string[] | null {
  const t = text.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false' || t === '') return false;
  if (/^\d+$/.test(t)) return Number(t);
  const list = t.split(',').map((s) => s.trim());
  return list.every((s) => /^[0-9a-f.:/]+$/.test(s) && s.length > 0) ? list : null;
}

/**
 * A reader for duration variables (seconds, or e.g. `15m`, `24h`): returns the value in
 * seconds, or records one problem line and returns `def` when it is invalid or out of range.
 *
 * @param raw - looks a variable up (trimmed; undefined when unset or blank)
 * @param problems - collects one line per invalid value
 * @returns `(name, def, min, max) => seconds`
 * @example
 * ```ts
 * const duration = durationReader((n) => env[n], problems);
 * const ttl = duration('TOKEN_TTL', 86_400, 60, 30 * 86_400);
 * ```
 */
export function durationReader(
  raw: (name: string) => string | undefined,
  problems: string[],
): (name: string, def: number, min: number, max: number) => number {
  return (name, def, min, max) => {
    const text = raw(name);
    if (text === undefined) return def;
    const n = parseDuration(text);
    if (n === null || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(text)}: must be a duration from ${min}s to ${max}s (seconds, or e.g. 15m, 24h)`,
      );
      return def;
    }
    return n;
  };
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
  const int = (name: string, text: string | undefined, def: number, min: number, max: number) => {
    if (text === undefined) return def;
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(text)}: must be an integer from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const duration = durationReader(raw, problems);

  const port = int(
    overrides.port === undefined ? 'PORT' : '--port',
    overrides.port === undefined ? raw('PORT') : String(overrides.port),
    8080,
    0,
    65535,
  );
  const host = overrides.host ?? raw('HOST') ?? '127.0.0.1';

  let publicUrl = raw('PUBLIC_URL') ?? `http://localhost:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.search || u.hash) throw new Error('query');
    publicUrl = u.href.replace(/\/+$/, '');
  } catch {
    problems.push(
      `PUBLIC_URL=${JSON.stringify(publicUrl)}: must be an http(s) URL without query, e.g. https://backup.example.com`,
    );
  }

  const dataDir = resolve(overrides.dataDir ?? raw('DATA_DIR') ?? './data');
  const databaseUrl = raw('DATABASE_URL') ?? `sqlite:${join(dataDir, 'noah.db')}`;
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
  const scrubPeriodDays = int('SCRUB_PERIOD_DAYS', raw('SCRUB_PERIOD_DAYS'), 30, 0, 3650);

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
    authPerMinute: int('RATE_LIMIT_AUTH_PER_MINUTE', raw('RATE_LIMIT_AUTH_PER_MINUTE'), 30, 0, 1e6),
    userPerMinute: int(
      'RATE_LIMIT_USER_PER_MINUTE',
      raw('RATE_LIMIT_USER_PER_MINUTE'),
      120,
      0,
      1e6,
    ),
    blobPerMinute: int(
      'RATE_LIMIT_BLOB_PER_MINUTE',
      raw('RATE_LIMIT_BLOB_PER_MINUTE'),
      120,
      0,
      1e6,
    ),
    badTokenPerMinute: int(
      'RATE_LIMIT_BAD_TOKEN_PER_MINUTE',
      raw('RATE_LIMIT_BAD_TOKEN_PER_MINUTE'),
      30,
      0,
      1e6,
    ),
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

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    publicUrl,
    dataDir,
    databaseUrl,
    blobStoreUrl,
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
  };
}

/**
 * Returns the fs blob store's URL-signing key: `BLOB_SIGNING_SECRET` when set, else the
 * key kept at `<dataDir>/blob-signing.key` (mode 0600, tightened if an older version
 * left it open), generated on first start. The file is created exclusively, so two
 * processes starting at once agree on one key.
 *
 * @param config - the loaded configuration
 * @returns the secret (64 hex characters when generated)
 * @throws Error when the key file exists but is unreadable or too short
 */
export function loadOrCreateSigningSecret(config: ServerConfig): string {
  if (config.blobSigningSecret !== null) return config.blobSigningSecret;
  const file = join(config.dataDir, 'blob-signing.key');
  ensurePrivateDir(config.dataDir);
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    restrictToOwner(file);
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32)
    throw new Error(`${file} must hold at least 32 characters; delete it to generate a new key`);
  return secret;
}
