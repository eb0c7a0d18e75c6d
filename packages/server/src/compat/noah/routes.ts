/**
 * The routes Noah's app calls for backups and push (docs/API.md "Noah compatibility"),
 * served when NOAH_COMPAT=1, with Noah's request and response shapes and its error
 * envelope. Where a path is also one of this server's own (`/v0/backup/…`), a request
 * whose bearer token is a JWT (only Noah's app has one) is routed here by a route
 * constraint; every other request reaches the server's own route, unchanged. Backups
 * go through the same backup and push services as the server's own routes: the same
 * ownership checks, two slots, limits and per-user rate limit.
 * @module
 */
import type { RandomBytes } from '@noah-backup/core/clock';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { newObjectKey } from '../../blob/keys.ts';
import { apiError, HttpError } from '../../errors.ts';
import {
  authLimitKey,
  type FailureLimiter,
  rateLimitHook,
  userLimitKey,
} from '../../http/rate-limit.ts';
import type { BackupService } from '../../services/backups.ts';
import type { PushService } from '../../services/push.ts';
import { EXPO_TOKEN_PATTERN } from '../../services/push.ts';
import type { MetadataStore } from '../../stores/metadata.ts';
import type { NoahAuthenticate } from './auth.ts';
import { noahErrorHandler } from './errors.ts';
import { looksLikeJwt } from './jwt.ts';
import type { RelaySigner } from './relay.ts';

/** The one device of a Noah user: Noah keeps one push token per user. */
export const NOAH_DEVICE_ID = 'noah-app';

/** The route constraint that sends requests with a JWT bearer token here. */
const DIALECT = 'noahToken';

const int = { type: 'integer' } as const;
const body = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  required,
  properties,
});

/** What the Noah routes need. */
export interface NoahRouteDeps {
  authenticate: NoahAuthenticate;
  backups: BackupService;
  push: PushService;
  metadata: MetadataStore;
  relay: RelaySigner;
  random: RandomBytes;
  userPerMinute: number;
  badTokens: FailureLimiter | null;
}

/**
 * Registers the Noah routes (in the JSON API scope).
 *
 * @param app - the API scope
 * @param deps - services, stores, the relay's signer and the limits
 */
export async function noahRoutes(app: FastifyInstance, deps: NoahRouteDeps): Promise<void> {
  const { backups, push } = deps;
  if (!app.hasConstraintStrategy(DIALECT))
    app.addConstraintStrategy({
      name: DIALECT,
      storage() {
        const handlers = new Map<string, unknown>();
        return {
          get: (k: string) => (handlers.get(k) ?? null) as never,
          set: (k: string, v: unknown) => void handlers.set(k, v),
        };
      },
      deriveConstraint(req: { headers: Record<string, string | string[] | undefined> }) {
        const a = req.headers.authorization;
        return typeof a === 'string' && a.startsWith('Bearer ') && looksLikeJwt(a.slice(7))
          ? 'jwt'
          : undefined;
      },
      mustMatchWhenDerived: false,
    } as never);
  const jwt = { [DIALECT]: 'jwt' };

  app.setErrorHandler(noahErrorHandler);
  app.addHook('onRequest', async (request) => {
    const key = authLimitKey(request.ip);
    try {
      request.principal = await deps.authenticate(request.headers.authorization);
    } catch (err) {
      // As the server's own bearer hook (src/http/bearer.ts): bad tokens are counted.
      if (err instanceof HttpError && err.code === 'unauthorized') {
        deps.badTokens?.check(key);
        deps.badTokens?.record(key);
      }
      throw err;
    }
  });
  const limit = rateLimitHook(app, {
    perMinute: deps.userPerMinute,
    key: (req) => userLimitKey(req.principal?.userId, req.ip),
  });
  if (limit) app.addHook('onRequest', limit);
  app.addHook('preValidation', async (request) => {
    request.body ??= {};
  });
  const user = (request: FastifyRequest) => request.principal!.userId;
  const success = { success: true } as const;

  // Noah's app names slot 1 every time: the slot is chosen at completion instead (an
  // empty one, else the older backup's), so it still keeps two backups.
  app.post<{ Body: { backup_version: number } }>(
    '/v0/backup/upload_url',
    { constraints: jwt, schema: { body: body(['backup_version'], { backup_version: int }) } },
    async (request) => {
      const userId = user(request);
      const s = await backups.getSettings(userId);
      if (!s.backups_allowed) throw apiError('backups_not_enabled');
      const key = newObjectKey(deps.random);
      return { upload_url: deps.relay.sign(userId, key), s3_key: key };
    },
  );

  app.post<{ Body: { s3_key: string; backup_version: number; backup_size: number } }>(
    '/v0/backup/complete_upload',
    {
      constraints: jwt,
      schema: {
        body: body(['s3_key', 'backup_version', 'backup_size'], {
          s3_key: { type: 'string', maxLength: 512 },
          backup_version: int,
          backup_size: { type: 'integer', minimum: 0 },
        }),
      },
    },
    async (request) => {
      const userId = user(request);
      const { s3_key, backup_size } = request.body;
      const pending = await deps.metadata.getPendingUpload(userId, s3_key);
      // Without a pending upload this is a repeat (the service answers for a slot that
      // holds this object) or an unknown key (upload_not_found).
      await backups.completeUpload(userId, {
        s3_key,
        backup_version: pending?.version ?? 1,
        backup_size,
      });
      return success;
    },
  );

  app.post('/v0/backup/list', { constraints: jwt }, async (request) =>
    (await backups.list(user(request))).map((b) => ({
      backup_version: b.backup_version,
      created_at: b.created_at,
      backup_size: b.backup_size,
    })),
  );

  app.post<{ Body: { backup_version?: number | null } }>(
    '/v0/backup/download_url',
    {
      constraints: jwt,
      schema: { body: body([], { backup_version: { type: ['integer', 'null'] } }) },
    },
    async (request) => {
      const v = request.body.backup_version ?? null;
      if (v !== null && v !== 1 && v !== 2) throw apiError('backup_not_found');
      const r = await backups.downloadUrl(user(request), { backup_version: v });
      return { download_url: r.download_url, backup_size: r.backup_size };
    },
  );

  app.post<{ Body: { backup_version: number } }>(
    '/v0/backup/delete',
    { constraints: jwt, schema: { body: body(['backup_version'], { backup_version: int }) } },
    async (request) => {
      const v = request.body.backup_version;
      if (v !== 1 && v !== 2) throw apiError('backup_not_found');
      await backups.remove(user(request), v);
      return success;
    },
  );

  app.post<{ Body: { backup_enabled: boolean } }>(
    '/v0/backup/settings',
    {
      constraints: jwt,
      schema: { body: body(['backup_enabled'], { backup_enabled: { type: 'boolean' } }) },
    },
    async (request) => {
      await backups.setSettings(user(request), request.body.backup_enabled);
      return success;
    },
  );

  // An Expo token goes to Expo; anything else is a UnifiedPush endpoint, as Noah tells them apart.
  const expoToken = new RegExp(EXPO_TOKEN_PATTERN);
  app.post<{ Body: { push_token: string } }>(
    '/v0/register_push_token',
    { schema: { body: body(['push_token'], { push_token: { type: 'string', maxLength: 1000 } }) } },
    async (request) => {
      const t = request.body.push_token;
      await push.register(
        user(request),
        expoToken.test(t)
          ? { provider: 'expo', token: t, device_id: NOAH_DEVICE_ID }
          : { provider: 'unifiedpush', endpoint: t, device_id: NOAH_DEVICE_ID },
      );
      return success;
    },
  );

  // The app calls this first when the wallet is deleted: every push token of the user
  // goes, as on Noah's server, so the daily trigger stops (its other registrations are
  // Noah's server's, docs/OPERATIONS.md "Noah compatibility"). Backups stay, as there.
  app.post('/v0/deregister', async (request) => {
    const userId = user(request);
    for (const d of await deps.metadata.listDevices(userId))
      await push.unregister(userId, { device_id: d.deviceId });
    return success;
  });

  app.post<{
    Body: {
      notification_k1?: string;
      k1?: string;
      report_type: string;
      status: string;
      error_message?: string | null;
    };
  }>(
    '/v0/report_job_status',
    {
      schema: {
        body: body(['report_type', 'status'], {
          // Noah's JavaScript sends notification_k1, its Android service k1.
          notification_k1: { type: 'string', maxLength: 200 },
          k1: { type: 'string', maxLength: 200 },
          report_type: { type: 'string', enum: ['backup', 'maintenance'] },
          status: { type: 'string', enum: ['pending', 'success', 'failure', 'timeout'] },
          error_message: { type: ['string', 'null'] },
        }),
      },
    },
    async (request) => {
      const b = request.body;
      if (b.status !== 'success' && b.status !== 'failure')
        throw apiError(
          'bad_request',
          'report_job_status only accepts success or failure; pending/timeout are server-managed',
        );
      const k1 = b.notification_k1 ?? b.k1;
      if (k1 === undefined) throw apiError('bad_request', 'body.notification_k1 is required');
      // Only backups are this server's; a maintenance report is acknowledged and dropped.
      if (b.report_type === 'backup')
        await backups.report(user(request), {
          kind: 'backup',
          status: b.status,
          notification_id: k1,
          ...(b.error_message ? { error: b.error_message.slice(0, 500) } : {}),
        });
      return success;
    },
  );
}
