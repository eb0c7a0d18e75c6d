/**
 * Rate limits on top of @fastify/rate-limit's counters: per client address on the login
 * routes and on the fs store's blob routes, per user on `/v0/backup/*` and `/v0/push/*`
 * (keyed after authentication, so one user cannot spend another's budget and users
 * behind one NAT do not share one), and per client address on requests with an invalid
 * bearer token ({@link createFailureLimiter}). Addresses are counted by
 * {@link addressGroup} (IPv6 by /64). The hooks run at `onRequest`, before a body is
 * read. One counter is shared by all routes of a group. Exceeding answers 429
 * `rate_limited` with `Retry-After`. Counters are per process; docs/OPERATIONS.md says
 * what that means for N instances.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from '../errors.ts';
import { addressGroup } from './limits.ts';

/** The counter key of a client address (as resolved under TRUST_PROXY, IPv6 by /64). */
export function authLimitKey(ip: string): string {
  return `ip:${addressGroup(ip)}`;
}

/**
 * The counter key of the backup group: the authenticated user, or the address when the
 * request has no principal (it is then refused by the auth hook before it gets here).
 */
export function userLimitKey(userId: string | null | undefined, ip: string): string {
  return userId ? `user:${userId}` : authLimitKey(ip);
}

/** A hook that refuses the excess of one group (`onRequest` or later). */
export type LimitHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function limited(ttlSec: number) {
  return apiError('rate_limited', `too many requests; retry in ${ttlSec} s`, {
    // The body, if any, is not read: close rather than drain it.
    headers: { 'retry-after': String(Math.max(1, ttlSec)), connection: 'close' },
  });
}

/**
 * Builds a hook that counts requests of one group and refuses the excess.
 * Requires @fastify/rate-limit registered on `app` (src/app.ts does, `global: false`).
 *
 * @param app - the instance the limiter plugin is registered on
 * @param opts.perMinute - requests per minute per key; 0 disables (returns null)
 * @param opts.key - the counter key of a request
 * @returns a hook for `onRequest` (after authentication for per-user keys), or null when disabled
 * @example
 * ```ts
 * const hook = rateLimitHook(app, { perMinute: 30, key: (r) => authLimitKey(r.ip) });
 * ```
 */
export function rateLimitHook(
  app: FastifyInstance,
  opts: { perMinute: number; key: (req: FastifyRequest) => string },
): LimitHook | null {
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
    if (r.isExceeded) throw limited(r.ttlInSeconds);
  };
}

/** Counts failures per key in fixed one-minute windows (see {@link createFailureLimiter}). */
export interface FailureLimiter {
  /** Throws 429 `rate_limited` when `key` already failed `perMinute` times this window. */
  check(key: string): void;
  /** Counts one failure of `key`. */
  record(key: string): void;
}

/** Keys remembered at most; beyond, expired windows go first, then the oldest. */
const MAX_KEYS = 100_000;

/**
 * A limiter for failures only: a client address that sent `perMinute` requests with an
 * invalid token is refused for the rest of the minute before its next token is even
 * looked up, so guessing tokens or flooding with bad ones costs the database nothing.
 *
 * @param opts.perMinute - failures per minute per key; 0 disables (returns null)
 * @param opts.clock - the time source of the windows
 * @returns the limiter, or null when disabled
 * @example
 * ```ts
 * const bad = createFailureLimiter({ perMinute: 30, clock });
 * bad?.check(key); // before the lookup; bad?.record(key) after a refused token
 * ```
 */
export function createFailureLimiter(opts: {
  perMinute: number;
  clock: Clock;
}): FailureLimiter | null {
  if (opts.perMinute <= 0) return null;
  const windows = new Map<string, { count: number; resetAt: number }>();
  const live = (key: string, now: number) => {
    const w = windows.get(key);
    if (w && w.resetAt > now) return w;
    if (w) windows.delete(key);
    return null;
  };
  return {
    check(key) {
      const now = opts.clock.now().getTime();
      const w = live(key, now);
      if (w && w.count >= opts.perMinute) throw limited(Math.ceil((w.resetAt - now) / 1000));
    },
    record(key) {
      const now = opts.clock.now().getTime();
      const w = live(key, now);
      if (w) {
        w.count++;
        return;
      }
      if (windows.size >= MAX_KEYS) {
        for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
        if (windows.size >= MAX_KEYS) windows.delete(windows.keys().next().value as string);
      }
      windows.set(key, { count: 1, resetAt: now + 60_000 });
    },
  };
}
