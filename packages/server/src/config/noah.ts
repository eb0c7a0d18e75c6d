/**
 * The Noah compatibility profile's configuration (docs/OPERATIONS.md "Noah
 * compatibility"), read as part of `loadConfig` (src/config.ts). Off unless
 * `NOAH_COMPAT=1`; without it nothing else here is read and the server is unchanged.
 * @module
 */
import { envReader, type RawEnv } from './read.ts';

/** Validated profile settings; null when the profile is off. */
export interface NoahCompatConfig {
  /**
   * NOAH_COMPAT_JWT_SECRET: the HS256 key of the access tokens Noah's app gets. Give it
   * the value of the Noah server's AUTH_JWT_SECRET so that one token works on both while
   * the reverse proxy splits the routes. Secret: never logged.
   */
  jwtSecret: string;
  /** NOAH_COMPAT_TOKEN_TTL: lifetime of those tokens (default 72 h, Noah's default). */
  tokenTtlSec: number;
}

/** Noah's app renews a token with less than 3 h + 60 s left: a shorter one renews on every call. */
export const NOAH_MIN_TOKEN_TTL_SEC = 4 * 3600;

/**
 * Reads the profile.
 *
 * @param raw - the environment lookup (trimmed, undefined when blank)
 * @param problems - collects one line per bad value
 * @returns the settings, or null when NOAH_COMPAT is unset or 0
 */
export function parseNoahCompat(raw: RawEnv, problems: string[]): NoahCompatConfig | null {
  const flag = raw('NOAH_COMPAT');
  if (flag === undefined || flag === '0') return null;
  if (flag !== '1') {
    problems.push(`NOAH_COMPAT=${JSON.stringify(flag)}: must be 0 or 1`);
    return null;
  }
  const { duration } = envReader(raw, problems);
  const tokenTtlSec = duration(
    'NOAH_COMPAT_TOKEN_TTL',
    72 * 3600,
    NOAH_MIN_TOKEN_TTL_SEC,
    365 * 86400,
  );
  const jwtSecret = raw('NOAH_COMPAT_JWT_SECRET');
  if (jwtSecret === undefined || jwtSecret.length < 32) {
    problems.push(
      "NOAH_COMPAT_JWT_SECRET: required with NOAH_COMPAT=1, at least 32 characters (the Noah server's AUTH_JWT_SECRET)",
    );
    return null;
  }
  return { jwtSecret, tokenTtlSec };
}
