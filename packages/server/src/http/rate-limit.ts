/**
 * Rate limits (issue 3 item 5) on top of @fastify/rate-limit's counters: per client IP
 * on the login routes, per user on `/v0/backup/*` (keyed after authentication, so one
 * user cannot spend another's budget and users behind one NAT do not share one). One
 * counter is shared by all routes of a group. Exceeding answers 429 `rate_limited`
 * with `Retry-After`. Counters are per process; docs/OPERATIONS.md says what that means
 * for N instances.
 * @module
 */
import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { apiError } from '../errors.ts';

/** The counter key of the login group: the client IP (as resolved under TRUST_PROXY). */
export function authLimitKey(ip: string): string {
  return `ip:${ip}`;
}

/**
 * The counter key of the backup group: the authenticated user, or the IP when the
 * request has no principal (it is then refused by the auth hook before it gets here).
 */
export function userLimitKey(userId: string | null | undefined, ip: string): string {
  return userId ? `user:${userId}` : `ip:${ip}`;
}

/**
 * Builds a hook that counts requests of one group and refuses the excess.
 * Requires @fastify/rate-limit registered on `app` (src/app.ts does, `global: false`).
 *
 * @param app - the instance the limiter plugin is registered on
 * @param opts.perMinute - requests per minute per key; 0 disables (returns null)
 * @param opts.key - the counter key of a request
 * @returns a `preValidation` hook, or null when disabled
 * @example
 * ```ts
 * const hook = rateLimitHook(app, { perMinute: 30, key: (r) => authLimitKey(r.ip) });
 * ```
 */
export function rateLimitHook(
  app: FastifyInstance,
  opts: { perMinute: number; key: (req: FastifyRequest) => string },
): preValidationAsyncHookHandler | null {
  if (opts.perMinute <= 0) return null;
  const limiter = app.createRateLimit({
    max: opts.perMinute,
    timeWindow: 60_000,
    keyGenerator: opts.key,
  });
  return async (request, reply) => {
    const r = await limiter(request);
    if (r.isAllowed) return;
    reply.header('x-ratelimit-limit', r.max);
    reply.header('x-ratelimit-remaining', r.remaining);
    reply.header('x-ratelimit-reset', r.ttlInSeconds);
    if (r.isExceeded)
      throw apiError('rate_limited', `too many requests; retry in ${r.ttlInSeconds} s`, {
        headers: { 'retry-after': String(Math.max(1, r.ttlInSeconds)) },
      });
  };
}
