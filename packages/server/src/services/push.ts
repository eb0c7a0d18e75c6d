/**
 * The push endpoints' logic (docs/PUSH.md §2, §6): device registration and the link
 * from a client's outcome report to the trigger that asked for it.
 *
 * Registration rules (docs/PUSH.md "Devices"): a device is `(user, device_id)`; a user
 * may have several (PUSH_MAX_DEVICES, the least recently updated go first);
 * re-registering a device id updates it. A device id is scoped to its user: another
 * user registering the same id gets their own device and never touches the first
 * user's. The push address (token or endpoint) is what moves: it belongs to exactly one
 * device, the latest to register it, because one install wakes one wallet, the one now
 * logged in there.
 * @module
 */
import type {
  PushRegisterRequest,
  PushUnregisterRequest,
  ReportRequest,
} from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import { ECDH } from 'node:crypto';
import type { BlockList } from 'node:net';
import { apiError } from '../errors.ts';
import { endpointAddressProblem } from '../push/endpoint-address.ts';
import type { PushMetrics } from '../push/metrics.ts';
import { redactAddress } from '../push/redact.ts';
import type { PushKeys, PushStore } from '../stores/push.ts';
import type { BackupService } from './backups.ts';

/** `POST /v0/push/register` response. */
export interface PushRegisterResponse {
  registered: true;
  device_id: string;
  provider: 'expo' | 'unifiedpush';
}

/** `GET /v0/push/vapid` response. */
export interface VapidKeyResponse {
  /** The server's VAPID public key (65 bytes, base64url), for the app's distributor. */
  public_key: string;
}

/** `POST /v0/push/unregister` response. */
export interface PushUnregisterResponse {
  /** False when the caller had no device by that id (still a success: idempotent). */
  unregistered: boolean;
}

/** What the push routes call. Every method throws HttpError for client-visible failures. */
export interface PushService {
  register(userId: string, body: PushRegisterRequest): Promise<PushRegisterResponse>;
  unregister(userId: string, body: PushUnregisterRequest): Promise<PushUnregisterResponse>;
  /** Marks the trigger a backup report names (by notification id) with its outcome. */
  recordReport(userId: string, body: ReportRequest): Promise<void>;
  /** The VAPID public key; throws `not_found` when UnifiedPush is not enabled. */
  vapidKey(): VapidKeyResponse;
}

/**
 * Checks and normalises a device's Web Push keys (RFC 8291 §2, §3): `p256dh` an
 * uncompressed point on P-256 (65 bytes), `auth` 16 bytes, both base64url (padding
 * accepted, dropped).
 *
 * @param keys - as registered
 * @returns the keys without padding, or a public reason (never the keys themselves)
 */
export function checkPushKeys(keys: { p256dh: string; auth: string }): PushKeys | string {
  const b64url = /^[A-Za-z0-9_-]+={0,2}$/;
  if (!b64url.test(keys.p256dh) || !b64url.test(keys.auth))
    return 'keys.p256dh and keys.auth must be base64url';
  const p256dh = Buffer.from(keys.p256dh, 'base64url');
  const auth = Buffer.from(keys.auth, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4)
    return 'keys.p256dh must be an uncompressed P-256 public key (65 bytes)';
  try {
    ECDH.convertKey(p256dh, 'prime256v1');
  } catch {
    return 'keys.p256dh is not a point on P-256';
  }
  if (auth.length !== 16) return 'keys.auth must be 16 bytes';
  return { p256dh: p256dh.toString('base64url'), auth: auth.toString('base64url') };
}

/** Expo push tokens as Expo issues them (`ExponentPushToken[…]`, `ExpoPushToken[…]`). */
export const EXPO_TOKEN_PATTERN = '^Expo(nent)?PushToken\\[[A-Za-z0-9_+/=.:-]{1,200}\\]$';
/** UnifiedPush SERV_1.2.0: an endpoint is at most 1,000 bytes. */
export const MAX_ENDPOINT_LENGTH = 1000;

/**
 * Checks a UnifiedPush endpoint: an absolute https URL (http only when allowed by
 * UNIFIEDPUSH_ALLOW_HTTP), no credentials in it.
 *
 * @param endpoint - the registered endpoint
 * @param allowHttp - whether `http:` is accepted
 * @returns null when acceptable, else a public reason
 */
export function endpointProblem(endpoint: string, allowHttp: boolean): string | null {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return 'endpoint must be an absolute URL';
  }
  if (u.protocol !== 'https:' && !(allowHttp && u.protocol === 'http:'))
    return allowHttp ? 'endpoint must be an http(s) URL' : 'endpoint must be an https URL';
  if (u.username || u.password) return 'endpoint must not carry credentials';
  if (new TextEncoder().encode(endpoint).length > MAX_ENDPOINT_LENGTH)
    return `endpoint must be at most ${MAX_ENDPOINT_LENGTH} bytes`;
  return null;
}

/**
 * Creates the push service.
 *
 * @param deps - the store, clock, logger, metrics and registration limits
 * @returns the service
 */
export function createPushService(deps: {
  store: PushStore;
  clock: Clock;
  logger: Logger;
  metrics?: PushMetrics;
  allowHttpEndpoints: boolean;
  /** UNIFIEDPUSH_ALLOW_ADDRESSES (push/endpoint-address.ts). */
  allowAddresses?: BlockList | null;
  maxDevicesPerUser: number;
  /** The VAPID public key when UnifiedPush is enabled (push/vapid.ts). */
  vapidPublicKey?: string | null;
}): PushService {
  const { store, clock, logger, metrics } = deps;
  const tokenRe = new RegExp(EXPO_TOKEN_PATTERN);
  return {
    async register(userId, body) {
      let address: string;
      let keys: PushKeys | null = null;
      if (body.provider === 'expo') {
        if (body.endpoint !== undefined)
          throw apiError('bad_request', 'provider "expo" takes token, not endpoint');
        if (body.keys !== undefined)
          throw apiError('bad_request', 'provider "expo" takes no Web Push keys');
        if (body.token === undefined || !tokenRe.test(body.token))
          throw apiError('bad_request', 'token must be an Expo push token, ExponentPushToken[…]');
        address = body.token;
      } else {
        if (body.token !== undefined)
          throw apiError('bad_request', 'provider "unifiedpush" takes endpoint, not token');
        if (body.endpoint === undefined)
          throw apiError('bad_request', 'provider "unifiedpush" needs endpoint');
        const problem = endpointProblem(body.endpoint, deps.allowHttpEndpoints);
        if (problem) throw apiError('bad_request', problem);
        // The daily job will connect to it: never into the server's own network.
        const where = await endpointAddressProblem(body.endpoint, deps.allowAddresses ?? null);
        if (where) throw apiError('push_endpoint_not_allowed', where);
        address = body.endpoint;
        if (body.keys !== undefined) {
          const checked = checkPushKeys(body.keys);
          if (typeof checked === 'string') throw apiError('bad_request', checked);
          keys = checked;
        }
      }
      const r = await store.registerDevice({
        userId,
        deviceId: body.device_id,
        provider: body.provider,
        address,
        keys,
        now: clock.now(),
        maxDevices: deps.maxDevicesPerUser,
      });
      logger.info(
        {
          userId,
          deviceId: body.device_id,
          provider: body.provider,
          to: redactAddress(address),
          webPush: keys !== null,
          updated: r.updated,
          displaced: r.displaced,
          evicted: r.evicted,
        },
        'push device registered',
      );
      return { registered: true, device_id: body.device_id, provider: body.provider };
    },

    vapidKey() {
      if (!deps.vapidPublicKey)
        throw apiError('not_found', 'UnifiedPush is not enabled on this server');
      return { public_key: deps.vapidPublicKey };
    },

    async unregister(userId, body) {
      const removed = await store.unregisterDevice(userId, body.device_id);
      logger.info({ userId, deviceId: body.device_id, removed }, 'push device unregistered');
      return { unregistered: removed };
    },

    async recordReport(userId, body) {
      if (body.kind !== 'backup' || body.notification_id === undefined) return;
      const now = clock.now();
      const recorded = await store.recordTriggerOutcome({
        userId,
        notificationId: body.notification_id,
        status: body.status,
        now,
      });
      if (!recorded) {
        logger.info({ userId }, 'report names no trigger of this user; not linked');
        return;
      }
      // Count a report once: a failure after a success changes nothing.
      if (!recorded.changed) return;
      const trigger = recorded.trigger;
      const within =
        trigger.outcomeAt !== null &&
        trigger.outcomeAt.getTime() - trigger.createdAt.getTime() <= 86_400_000;
      metrics?.outcomes.inc({ status: body.status, within_day: String(within) });
    },
  };
}

/**
 * Links outcome reports to triggers: `report` of the returned service first records the
 * outcome on the trigger (when the report names one), then does what the backup service
 * does (count, log).
 *
 * @param backups - the backup service
 * @param push - the push service
 * @returns the backup service with a linking `report`
 * @example
 * ```ts
 * const backups = linkReports(createBackupService(deps), push);
 * ```
 */
export function linkReports(backups: BackupService, push: PushService): BackupService {
  return {
    ...backups,
    async report(userId, body) {
      await push.recordReport(userId, body);
      return backups.report(userId, body);
    },
  };
}
