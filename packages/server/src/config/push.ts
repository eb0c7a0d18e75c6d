/**
 * The push senders' and the daily trigger's configuration (docs/PUSH.md "4.
 * Configuration (server)"), read from the environment as part of `loadConfig`
 * (src/config.ts): every bad value is added to the one list of problems that
 * `ConfigError` reports.
 * @module
 */
import type { PushProvider } from '@noah-backup/core/api';
import type { BlockList } from 'node:net';
import { Cron } from 'croner';
import { parseAddressList } from '../push/endpoint-address.ts';
import { vapidPublicKey } from '../push/vapid.ts';
import { envReader, httpBaseUrl, type RawEnv } from './read.ts';

/** Validated push and scheduler settings. Durations are in seconds. */
export interface PushConfig {
  /** Providers that really deliver; devices of other providers go to the log sender. */
  providers: PushProvider[];
  /** Expo push API base URL (EXPO_PUSH_URL, default `https://exp.host`). */
  expoPushUrl: string;
  /** EXPO_ACCESS_TOKEN, or null. */
  expoAccessToken: string | null;
  /** UNIFIEDPUSH_BEARER: bearer tokens by endpoint origin. */
  unifiedPushBearer: ReadonlyMap<string, string>;
  /** UNIFIEDPUSH_ALLOW_HTTP: accept `http:` endpoints at registration (tests, a LAN distributor). */
  unifiedPushAllowHttp: boolean;
  /**
   * UNIFIEDPUSH_ALLOW_ADDRESSES: loopback, private or other non-public addresses and
   * ranges endpoints may still have (tests, private deployments); null = none.
   */
  unifiedPushAllowAddresses: BlockList | null;
  /** BACKUP_CRON in UTC (default `0 3 * * *`); null = `off`, no timer (the CLI can still run it). */
  cron: string | null;
  /** BACKUP_STALE_AFTER: a user is triggered when their last backup is older (default 20 h). */
  staleAfterSec: number;
  /** BACKUP_SPREAD: the sends of a job are spread over this window (default 1 h; 0 = at once). */
  spreadSec: number;
  /** PUSH_RATE: messages per second at most (default 500; 0 = no cap). */
  rate: number;
  /** PUSH_RECEIPT_DELAY: Expo receipts are read this long after sending (default 15 min). */
  receiptDelaySec: number;
  /** PUSH_MAX_DEVICES: devices per user (default 10; the least recently updated go). */
  maxDevicesPerUser: number;
  /**
   * VAPID_PRIVATE_KEY: the server's VAPID key (RFC 8292), base64url; null = generated and
   * kept in DATA_DIR (push/vapid.ts).
   */
  vapidPrivateKey: string | null;
  /**
   * VAPID_SUBJECT: the contact in the VAPID JWT (`mailto:` or `https:`); default
   * PUBLIC_URL when it is https, else null (required when UnifiedPush is enabled).
   */
  vapidSubject: string | null;
}

/** The defaults, for docs and tests. */
export const PUSH_DEFAULTS = {
  expoPushUrl: 'https://exp.host',
  cron: '0 3 * * *',
  staleAfterSec: 20 * 3600,
  spreadSec: 3600,
  rate: 500,
  receiptDelaySec: 900,
  maxDevicesPerUser: 10,
} as const;

const PROVIDERS: readonly string[] = ['expo', 'unifiedpush'];

/**
 * Parses the push settings.
 *
 * @param raw - reads a trimmed variable (undefined when unset or blank)
 * @param problems - where a line is added per invalid variable
 * @returns the settings (defaults in place of invalid values)
 * @example
 * ```ts
 * const problems: string[] = [];
 * const push = parsePushConfig((n) => process.env[n], problems);
 * ```
 */
export function parsePushConfig(raw: RawEnv, problems: string[]): PushConfig {
  const env = envReader(raw, problems);

  let providers: PushProvider[] = [];
  const providersText = raw('PUSH_PROVIDERS');
  if (providersText !== undefined && providersText.toLowerCase() !== 'log') {
    const list = providersText
      .toLowerCase()
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== 'log');
    const bad = list.filter((p) => !PROVIDERS.includes(p));
    if (bad.length > 0)
      problems.push(
        `PUSH_PROVIDERS=${JSON.stringify(providersText)}: must be "log" or a comma-separated list of expo, unifiedpush`,
      );
    else providers = [...new Set(list)] as PushProvider[];
  }

  const expoText = raw('EXPO_PUSH_URL') ?? PUSH_DEFAULTS.expoPushUrl;
  const expoPushUrl = httpBaseUrl(expoText);
  if (expoPushUrl === null)
    problems.push(
      `EXPO_PUSH_URL=${JSON.stringify(expoText)}: must be an http(s) base URL without query, e.g. https://exp.host`,
    );

  const unifiedPushBearer = new Map<string, string>();
  const bearerText = raw('UNIFIEDPUSH_BEARER');
  if (bearerText !== undefined) {
    for (const pair of bearerText.split(',')) {
      const i = pair.lastIndexOf('=');
      const origin = i > 0 ? httpBaseUrl(pair.slice(0, i).trim()) : null;
      const token = i > 0 ? pair.slice(i + 1).trim() : '';
      if (origin === null || token === '' || new URL(origin).pathname !== '/') {
        // Never echo the value: it holds tokens.
        problems.push(
          'UNIFIEDPUSH_BEARER: must be comma-separated ORIGIN=TOKEN pairs, e.g. https://push.example.com=TOKEN (a token is sent only to endpoints of its origin)',
        );
        break;
      }
      unifiedPushBearer.set(new URL(origin).origin, token);
    }
  }

  const allowText = raw('UNIFIEDPUSH_ALLOW_HTTP')?.toLowerCase();
  if (allowText !== undefined && allowText !== 'true' && allowText !== 'false')
    problems.push(`UNIFIEDPUSH_ALLOW_HTTP=${JSON.stringify(allowText)}: must be true or false`);

  let unifiedPushAllowAddresses: BlockList | null = null;
  const allowAddrText = raw('UNIFIEDPUSH_ALLOW_ADDRESSES');
  if (allowAddrText !== undefined) {
    unifiedPushAllowAddresses = parseAddressList(allowAddrText);
    if (unifiedPushAllowAddresses === null)
      problems.push(
        `UNIFIEDPUSH_ALLOW_ADDRESSES=${JSON.stringify(allowAddrText)}: must be comma-separated IP addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8`,
      );
  }

  let cron: string | null = PUSH_DEFAULTS.cron;
  const cronText = raw('BACKUP_CRON');
  if (cronText !== undefined) {
    if (cronText.toLowerCase() === 'off') cron = null;
    else {
      try {
        new Cron(cronText, { timezone: 'UTC', paused: true }).stop();
        cron = cronText;
      } catch {
        problems.push(
          `BACKUP_CRON=${JSON.stringify(cronText)}: must be a cron expression (5 or 6 fields, UTC), e.g. "0 3 * * *", or off`,
        );
      }
    }
  }

  const rate = env.int(
    'PUSH_RATE',
    PUSH_DEFAULTS.rate,
    0,
    1_000_000,
    'messages per second from 0 (no cap) to 1000000',
  );
  const maxDevicesPerUser = env.int('PUSH_MAX_DEVICES', PUSH_DEFAULTS.maxDevicesPerUser, 1, 100);

  const vapidPrivateKey = raw('VAPID_PRIVATE_KEY') ?? null;
  if (vapidPrivateKey !== null) {
    try {
      vapidPublicKey(vapidPrivateKey);
    } catch {
      // Never echo the value: it is a secret.
      problems.push(
        'VAPID_PRIVATE_KEY: must be a P-256 private key, 32 bytes in base64url without padding (npx web-push generate-vapid-keys prints one)',
      );
    }
  }
  let vapidSubject: string | null = null;
  const subjectText = raw('VAPID_SUBJECT');
  if (subjectText !== undefined) {
    if (/^mailto:[^@\s]+@[^@\s]+$/i.test(subjectText) || httpsUrl(subjectText))
      vapidSubject = subjectText;
    else
      problems.push(
        `VAPID_SUBJECT=${JSON.stringify(subjectText)}: must be a mailto: address or an https: URL where push services can reach the operator, e.g. mailto:ops@example.com`,
      );
  } else {
    const publicUrl = raw('PUBLIC_URL');
    if (publicUrl !== undefined && httpsUrl(publicUrl)) vapidSubject = publicUrl;
    else if (providers.includes('unifiedpush'))
      problems.push(
        'VAPID_SUBJECT: required with PUSH_PROVIDERS=unifiedpush when PUBLIC_URL is not https: a mailto: or https: contact for push services (RFC 8292), e.g. mailto:ops@example.com',
      );
  }

  return {
    providers,
    expoPushUrl: expoPushUrl ?? PUSH_DEFAULTS.expoPushUrl,
    expoAccessToken: raw('EXPO_ACCESS_TOKEN') ?? null,
    unifiedPushBearer,
    unifiedPushAllowHttp: allowText === 'true',
    unifiedPushAllowAddresses,
    cron,
    staleAfterSec: env.duration('BACKUP_STALE_AFTER', PUSH_DEFAULTS.staleAfterSec, 60, 30 * 86400),
    spreadSec: env.duration('BACKUP_SPREAD', PUSH_DEFAULTS.spreadSec, 0, 86400),
    rate,
    receiptDelaySec: env.duration('PUSH_RECEIPT_DELAY', PUSH_DEFAULTS.receiptDelaySec, 0, 86400),
    maxDevicesPerUser,
    vapidPrivateKey,
    vapidSubject,
  };
}

function httpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
}
