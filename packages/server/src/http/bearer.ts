/**
 * The bearer-token hook of the authenticated routes: resolves `Authorization: Bearer …`
 * to `request.principal` at `onRequest`, before the body is read, and counts refused
 * tokens per client address: past the limit, an address's invalid tokens are answered
 * 429 instead of 401, while its valid ones still pass (docs/API.md "Limits").
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../errors.ts';
import type { AuthService } from '../services/auth.ts';
import { authLimitKey, type FailureLimiter } from './rate-limit.ts';

/**
 * Builds the hook.
 *
 * @param auth - the auth service
 * @param badTokens - the invalid-token limiter, or null when that limit is off
 * @returns an `onRequest` hook that sets `request.principal` or throws 401 / 429
 * @example
 * ```ts
 * app.addHook('onRequest', bearerHook(auth, badTokens));
 * ```
 */
export function bearerHook(
  auth: AuthService,
  badTokens: FailureLimiter | null,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const key = authLimitKey(request.ip);
    try {
      request.principal = await auth.authenticate(request.headers.authorization);
    } catch (err) {
      // An expired token is an honest client about to log in again; not counted. A valid
      // token is never refused here: behind a carrier NAT, one client guessing tokens
      // must not lock out everyone else on that address (docs/API.md "Limits").
      if (err instanceof HttpError && err.code === 'unauthorized') {
        badTokens?.check(key);
        badTokens?.record(key);
      }
      throw err;
    }
  };
}
