/**
 * The push routes (docs/API.md "Push registration"): `POST /v0/push/register` and `POST
 * /v0/push/unregister`, bearer-authenticated and rate limited per user like the backup
 * routes. Bodies are checked by JSON Schema (the Expo token format, the endpoint's
 * length and scheme); the rules across fields are the service's (services/push.ts).
 * @module
 */
import type { PushRegisterRequest, PushUnregisterRequest } from '@noah-backup/core/api';
import type { FastifyInstance } from 'fastify';
import { bearerHook } from '../http/bearer.ts';
import { type FailureLimiter, rateLimitHook, userLimitKey } from '../http/rate-limit.ts';
import { errorResponses } from '../http/schemas.ts';
import type { AuthService } from '../services/auth.ts';
import { EXPO_TOKEN_PATTERN, MAX_ENDPOINT_LENGTH, type PushService } from '../services/push.ts';

const deviceId = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9._:-]+$',
  description: 'Stable per-install id chosen by the device (scoped to the user).',
} as const;

/** PushRegisterRequest. */
export const pushRegisterBody = {
  type: 'object',
  additionalProperties: false,
  required: ['provider', 'device_id'],
  properties: {
    provider: { type: 'string', enum: ['expo', 'unifiedpush'] },
    token: {
      type: 'string',
      maxLength: 256,
      pattern: EXPO_TOKEN_PATTERN,
      description: 'Expo push token (provider "expo"), ExponentPushToken[…] or ExpoPushToken[…].',
    },
    endpoint: {
      type: 'string',
      maxLength: MAX_ENDPOINT_LENGTH,
      pattern: '^[hH][tT][tT][pP][sS]?://',
      description:
        'UnifiedPush endpoint (provider "unifiedpush"): an https URL (http only with UNIFIEDPUSH_ALLOW_HTTP).',
    },
    keys: {
      type: 'object',
      additionalProperties: false,
      required: ['p256dh', 'auth'],
      description:
        'UnifiedPush only: the Web Push keys the distributor gave (RFC 8291), base64url. With them the trigger is encrypted and VAPID-signed; without, sent in plain text.',
      properties: {
        p256dh: { type: 'string', minLength: 1, maxLength: 100 },
        auth: { type: 'string', minLength: 1, maxLength: 40 },
      },
    },
    device_id: deviceId,
  },
} as const;

/** `GET /v0/push/vapid` response. */
export const vapidKeyResponse = {
  type: 'object',
  required: ['public_key'],
  properties: {
    public_key: {
      type: 'string',
      description: "The server's VAPID public key (RFC 8292), 65 bytes, base64url.",
    },
  },
} as const;

/** `POST /v0/push/register` response. */
export const pushRegisterResponse = {
  type: 'object',
  required: ['registered', 'device_id', 'provider'],
  properties: {
    registered: { type: 'boolean', enum: [true] },
    device_id: { type: 'string' },
    provider: { type: 'string', enum: ['expo', 'unifiedpush'] },
  },
} as const;

/** PushUnregisterRequest. */
export const pushUnregisterBody = {
  type: 'object',
  additionalProperties: false,
  required: ['device_id'],
  properties: { device_id: deviceId },
} as const;

/** `POST /v0/push/unregister` response. */
export const pushUnregisterResponse = {
  type: 'object',
  required: ['unregistered'],
  properties: {
    unregistered: {
      type: 'boolean',
      description: 'False when the caller had no device by that id (idempotent).',
    },
  },
} as const;

/**
 * Registers the push routes in their own scope (prefix `/v0/push`).
 *
 * @param app - the API scope
 * @param deps - services, the per-user limit (requests/minute, 0 = none) and the
 *   invalid-token limiter
 */
export async function pushRoutes(
  app: FastifyInstance,
  deps: {
    auth: AuthService;
    push: PushService;
    userPerMinute: number;
    badTokens: FailureLimiter | null;
  },
): Promise<void> {
  const { auth, push } = deps;
  app.addHook('onRequest', bearerHook(auth, deps.badTokens));
  const limit = rateLimitHook(app, {
    perMinute: deps.userPerMinute,
    key: (req) => userLimitKey(req.principal?.userId, req.ip),
  });
  if (limit) app.addHook('onRequest', limit);
  const bearer = [{ bearer: [] }];

  app.post<{ Body: PushRegisterRequest }>(
    '/register',
    {
      schema: {
        summary: "Register (or update) this device's push token or endpoint",
        description:
          'Re-registering a device_id updates it. A token or endpoint belongs to one device: registering it moves it from any other device or user.',
        tags: ['push'],
        security: bearer,
        body: pushRegisterBody,
        response: { 200: pushRegisterResponse, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request) => push.register(request.principal!.userId, request.body),
  );

  app.get(
    '/vapid',
    {
      schema: {
        summary: "The server's VAPID public key, for UnifiedPush registration",
        description:
          'Give it to the distributor when registering, so that only this server can push to the endpoint. 404 when UnifiedPush is not enabled.',
        tags: ['push'],
        security: bearer,
        response: { 200: vapidKeyResponse, ...errorResponses(401, 404, 429) },
      },
    },
    async () => push.vapidKey(),
  );

  app.post<{ Body: PushUnregisterRequest }>(
    '/unregister',
    {
      schema: {
        summary: 'Remove one of your devices (idempotent)',
        tags: ['push'],
        security: bearer,
        body: pushUnregisterBody,
        response: { 200: pushUnregisterResponse, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request) => push.unregister(request.principal!.userId, request.body),
  );
}
