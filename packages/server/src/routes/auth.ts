/**
 * Auth routes (docs/API.md "Authentication (LNURL-auth, LUD-04)"): `GET /v0/getk1`, `POST
 * /v0/auth/login`,
 * `POST /v0/auth/logout`. getk1 and login are rate limited per client address, before
 * a body is read.
 * @module
 */
import type { LoginRequest } from '@noah-backup/core/api';
import type { FastifyInstance } from 'fastify';
import { bearerHook } from '../http/bearer.ts';
import { authLimitKey, type FailureLimiter, rateLimitHook } from '../http/rate-limit.ts';
import {
  emptyBody,
  errorResponses,
  getK1Response,
  loginBody,
  loginResponse,
  logoutResponse,
} from '../http/schemas.ts';
import type { AuthService } from '../services/auth.ts';

/**
 * Registers the auth routes and decorates every request with `principal` (null until
 * the bearer hook of an authenticated scope sets it).
 *
 * @param app - the API scope
 * @param deps.auth - the auth service
 * @param deps.authPerMinute - per-address limit on getk1 + login together (0 = none)
 * @param deps.badTokens - the invalid-token limiter (logout takes a bearer token)
 */
export async function authRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; authPerMinute: number; badTokens: FailureLimiter | null },
): Promise<void> {
  const { auth } = deps;
  const limit = rateLimitHook(app, {
    perMinute: deps.authPerMinute,
    key: (req) => authLimitKey(req.ip),
  });
  // At onRequest: a refused login is answered before its body is read.
  const onRequest = limit ? [limit] : [];

  app.get(
    '/v0/getk1',
    {
      onRequest,
      schema: {
        summary: 'Get a single-use LNURL-auth challenge (LUD-04)',
        tags: ['auth'],
        response: { 200: getK1Response, ...errorResponses(429, 503) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return auth.issueChallenge();
    },
  );

  app.post<{ Body: LoginRequest }>(
    '/v0/auth/login',
    {
      onRequest,
      schema: {
        summary: 'Log in with a signed k1 (LUD-04); returns a bearer token',
        description:
          'The k1 is consumed before the signature is verified: it is single use even when the attempt fails.',
        tags: ['auth'],
        body: loginBody,
        response: { 200: loginResponse, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return auth.login(request.body);
    },
  );

  app.post(
    '/v0/auth/logout',
    {
      onRequest: bearerHook(auth, deps.badTokens),
      // No body, or `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        summary: 'Revoke the bearer token',
        tags: ['auth'],
        security: [{ bearer: [] }],
        body: emptyBody,
        bodyRequired: false,
        response: { 200: logoutResponse, ...errorResponses(401) },
      },
    },
    async (request) => {
      await auth.logout(request.principal!);
      return { revoked: true };
    },
  );
}
