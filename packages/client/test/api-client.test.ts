import { randomBytes } from 'node:crypto';
import { manualClock } from '@noah-backup/core/clock';
import { verifyK1 } from '@noah-backup/core/lnurl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiClientOptions, createApiClient } from '../src/api-client.ts';
import { ApiError, NetworkError } from '../src/errors.ts';
import type { FetchFn } from '../src/http.ts';
import { createSessionKeys, type SessionKeys } from '../src/keys.ts';
import { nodeFetch } from '../src/node/http-fetch.ts';
import {
  apiError,
  type Handler,
  json,
  type LocalServer,
  startLocalServer,
} from './helpers/http.ts';

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

let server: LocalServer | undefined;
let keys: SessionKeys | undefined;
afterEach(async () => {
  await server?.close();
  keys?.destroy();
  server = undefined;
});

/**
 * A server that speaks LNURL-auth like the real one (single-use k1, signature checked
 * with core's verifier) and hands every other request to `route`.
 */
function authServer(
  clock: { now(): Date },
  route: (
    path: string,
    token: string | undefined,
    res: Parameters<Handler>[1],
    req: Parameters<Handler>[0],
  ) => void,
  lifetimeMs = 3_600_000,
): Handler {
  const k1s = new Set<string>();
  let n = 0;
  return (req, res) => {
    if (req.method === 'GET' && req.path === '/v0/getk1') {
      const k1 = randomBytes(32).toString('hex');
      k1s.add(k1);
      return json(res, 200, { k1, tag: 'login' });
    }
    if (req.path === '/v0/auth/login') {
      const { k1, sig, key } = JSON.parse(req.body.toString());
      if (!k1s.delete(k1)) return apiError(res, 400, 'invalid_k1');
      if (!verifyK1(k1, sig, key)) return apiError(res, 401, 'invalid_signature');
      n++;
      return json(res, 200, {
        access_token: `tok-${n}`,
        token_type: 'Bearer',
        expires_at: new Date(clock.now().getTime() + lifetimeMs).toISOString(),
      });
    }
    const auth = req.headers.authorization;
    route(req.path, auth?.startsWith('Bearer ') ? auth.slice(7) : undefined, res, req);
  };
}

/** Every test runs over both transports: the global fetch and node:http. */
const TRANSPORTS: { name: string; fetch: FetchFn | undefined }[] = [
  { name: 'the global fetch', fetch: undefined },
  { name: 'nodeFetch', fetch: nodeFetch },
];
let transport: FetchFn | undefined;
const withTransport = () => (transport ? { fetch: transport } : {});

async function client(extra: Partial<ApiClientOptions> & { sleeps?: number[] } = {}) {
  keys = await createSessionKeys(MNEMONIC, server!.url);
  const sleeps = extra.sleeps ?? [];
  return createApiClient({
    ...withTransport(),
    baseUrl: server!.url,
    signer: keys.signer,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...extra,
  });
}

const count = (path: string) => server!.requests.filter((r) => r.path === path).length;

describe.each(TRANSPORTS)('over $name', (t) => {
  beforeEach(() => {
    transport = t.fetch;
  });

  describe('login', () => {
    it('logs in once for concurrent calls and reuses the token', async () => {
      const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
      server = await startLocalServer(
        authServer(clock, (_path, token, res) =>
          token === 'tok-1' ? json(res, 200, []) : apiError(res, 401, 'unauthorized'),
        ),
      );
      const api = await client({ clock });
      const lists = await Promise.all([api.list(), api.list(), api.list(), api.list()]);
      expect(lists).toEqual([[], [], [], []]);
      await api.list();
      expect(count('/v0/getk1')).toBe(1);
      expect(count('/v0/auth/login')).toBe(1);
      const login = JSON.parse(
        server.requests.find((r) => r.path === '/v0/auth/login')!.body.toString(),
      );
      expect(login.key).toBe(keys!.signer.linkingKey);
    });

    it('logs in again shortly before expires_at', async () => {
      const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
      server = await startLocalServer(authServer(clock, (_p, _t, res) => json(res, 200, [])));
      const api = await client({ clock, tokenRefreshMarginMs: 60_000 });
      await api.list();
      clock.advance(3_600_000 - 120_000);
      await api.list();
      expect(count('/v0/auth/login')).toBe(1);
      clock.advance(90_000); // now inside the 60 s margin
      await api.list();
      expect(count('/v0/auth/login')).toBe(2);
      const auths = server.requests
        .filter((r) => r.path === '/v0/backup/list')
        .map((r) => r.headers.authorization);
      expect(auths).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
    });

    it('re-logs in once on token_expired and retries the call', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, token, res) =>
          token === 'tok-1' ? apiError(res, 401, 'token_expired') : json(res, 200, []),
        ),
      );
      const api = await client({ clock });
      await expect(api.list()).resolves.toEqual([]);
      expect(count('/v0/auth/login')).toBe(2);
      expect(count('/v0/backup/list')).toBe(2);
    });

    it('gives up after one re-login when the server keeps refusing', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => apiError(res, 401, 'unauthorized')),
      );
      const api = await client({ clock });
      const err = await api.list().catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({
        status: 401,
        code: 'unauthorized',
        requestId: 'req-unauthorized',
      });
      expect(count('/v0/auth/login')).toBe(2);
      expect(count('/v0/backup/list')).toBe(2);
    });

    it('does not re-login on 403 forbidden', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => apiError(res, 403, 'forbidden')),
      );
      const api = await client({ clock });
      await expect(api.list()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
      expect(count('/v0/auth/login')).toBe(1);
      expect(count('/v0/backup/list')).toBe(1);
    });

    it('logout revokes the token and the next call logs in again', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (path, _t, res) =>
          path === '/v0/auth/logout' ? json(res, 200, {}) : json(res, 200, []),
        ),
      );
      const api = await client({ clock });
      await api.list();
      await api.logout();
      const logout = server.requests.find((r) => r.path === '/v0/auth/logout')!;
      expect(logout.headers.authorization).toBe('Bearer tok-1');
      await api.list();
      expect(count('/v0/auth/login')).toBe(2);
    });
  });

  describe('retries', () => {
    it('retries 503 with full-jitter exponential backoff, then succeeds', async () => {
      let failures = 3;
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) =>
          failures-- > 0 ? apiError(res, 503, 'not_ready') : json(res, 200, []),
        ),
      );
      const sleeps: number[] = [];
      const api = await client({ clock, sleeps, retry: { baseDelayMs: 100, maxDelayMs: 300 } });
      await expect(api.list()).resolves.toEqual([]);
      expect(count('/v0/backup/list')).toBe(4);
      // random() = 0.5: half of min(300, 100·2^n).
      expect(sleeps).toEqual([50, 100, 150]);
    });

    it('honours Retry-After in seconds and as an HTTP date on 429', async () => {
      const clock = manualClock(Date.parse('2026-03-01T12:00:00Z'));
      const answers = [
        (res: Parameters<Handler>[1]) => apiError(res, 429, 'rate_limited', { 'retry-after': '7' }),
        (res: Parameters<Handler>[1]) =>
          apiError(res, 429, 'rate_limited', { 'retry-after': 'Sun, 01 Mar 2026 12:00:03 GMT' }),
        (res: Parameters<Handler>[1]) => json(res, 200, []),
      ];
      server = await startLocalServer(authServer(clock, (_p, _t, res) => answers.shift()!(res)));
      const sleeps: number[] = [];
      const api = await client({ clock, sleeps });
      await api.list();
      expect(sleeps).toEqual([7000, 3000]);
    });

    it('does not wait for a Retry-After beyond its cap', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) =>
          apiError(res, 429, 'rate_limited', { 'retry-after': '3600' }),
        ),
      );
      const sleeps: number[] = [];
      const api = await client({ clock, sleeps });
      await expect(api.list()).rejects.toMatchObject({ status: 429, retryAfterMs: 3_600_000 });
      expect(sleeps).toEqual([]);
      expect(count('/v0/backup/list')).toBe(1);
    });

    it('never retries another 4xx', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => apiError(res, 400, 'bad_request')),
      );
      const sleeps: number[] = [];
      const api = await client({ clock, sleeps });
      const err = await api.uploadUrl({ backup_size: 10 }).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({
        status: 400,
        code: 'bad_request',
        message: 'message for bad_request',
        serverCode: undefined,
      });
      expect(count('/v0/backup/upload_url')).toBe(1);
      expect(sleeps).toEqual([]);
    });

    it('retries dropped connections and stops after maxAttempts', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => {
          res.socket?.destroy();
        }),
      );
      const api = await client({ clock, retry: { maxAttempts: 3 } });
      const err = await api.list().catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.code).toBe('network_error');
      expect(count('/v0/backup/list')).toBe(3);
    });

    it('recovers when a dropped connection is followed by an answer', async () => {
      let drops = 2;
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) =>
          drops-- > 0 ? res.socket?.destroy() : json(res, 200, []),
        ),
      );
      const api = await client({ clock });
      await expect(api.list()).resolves.toEqual([]);
      expect(count('/v0/backup/list')).toBe(3);
    });

    it('gives a retryable network error when nobody listens', async () => {
      server = await startLocalServer(() => {});
      const url = server.url;
      await server.close();
      keys = await createSessionKeys(MNEMONIC, url);
      const sleeps: number[] = [];
      const api = createApiClient({
        ...withTransport(),
        baseUrl: url,
        signer: keys.signer,
        retry: { maxAttempts: 2 },
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      });
      const err = await api.list().catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.detail).toBe('ECONNREFUSED');
      expect(sleeps).toHaveLength(1);
      server = undefined;
    });

    it('times out a request that gets no answer', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(authServer(clock, () => {}));
      const api = await client({ clock, requestTimeoutMs: 150, retry: { maxAttempts: 2 } });
      const err = await api.list().catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.code).toBe('timeout');
      expect(count('/v0/backup/list')).toBe(2);
    });

    it('maps a non-JSON error page to a generic ApiError without echoing it', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end('<html>secret-internal-hostname</html>');
        }),
      );
      const api = await client({ clock, retry: { maxAttempts: 1 } });
      const err = await api.list().catch((e) => e);
      expect(err).toMatchObject({ status: 502, code: 'unexpected_response' });
      expect(err.message).not.toContain('secret-internal-hostname');
    });

    it('keeps a code this client does not know aside: code unexpected_response', async () => {
      const clock = manualClock(0);
      server = await startLocalServer(
        authServer(clock, (_p, _t, res) => apiError(res, 409, 'a_code_from_the_future')),
      );
      const api = await client({ clock, retry: { maxAttempts: 1 } });
      const err = await api.list().catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({
        status: 409,
        code: 'unexpected_response',
        serverCode: 'a_code_from_the_future',
        message: 'message for a_code_from_the_future',
        requestId: 'req-a_code_from_the_future',
      });
    });
  });

  describe('endpoints', () => {
    it('sends each request to its route with the document field names', async () => {
      const clock = manualClock(0);
      const answers: Record<string, unknown> = {
        '/v0/backup/upload_url': {
          upload_url: 'u',
          s3_key: 'k',
          backup_version: 1,
          expires_at: 'x',
          upload_headers: {},
        },
        '/v0/backup/complete_upload': { backup_version: 1, created_at: 'c', backup_size: 3 },
        '/v0/backup/download_url': {
          download_url: 'd',
          backup_size: 3,
          backup_version: 1,
          created_at: 'c',
          expires_at: 'e',
        },
        '/v0/backup/delete': { deleted: true, backup_version: 2 },
        '/v0/backup/settings': { backup_enabled: true, last_backup_at: null },
      };
      server = await startLocalServer(
        authServer(clock, (path, _t, res) => json(res, 200, answers[path] ?? {})),
      );
      const api = await client({ clock });
      await api.uploadUrl({ backup_size: 3 });
      await api.completeUpload({ s3_key: 'k', backup_version: 1, backup_size: 3 });
      await api.downloadUrl();
      await api.delete({ backup_version: 2 });
      expect(await api.getSettings()).toEqual({ backup_enabled: true, last_backup_at: null });
      await api.setSettings({ backup_enabled: false });
      await api.report({ kind: 'restore', status: 'success' });
      await api.registerPush({ provider: 'expo', token: 'ExponentPushToken[x]', device_id: 'd1' });
      await api.unregisterPush({ device_id: 'd1' });
      const seen = server.requests
        .filter((r) => !r.path.startsWith('/v0/getk1') && r.path !== '/v0/auth/login')
        .map((r) => [r.method, r.path, r.body.length ? JSON.parse(r.body.toString()) : null]);
      expect(seen).toEqual([
        ['POST', '/v0/backup/upload_url', { backup_size: 3 }],
        ['POST', '/v0/backup/complete_upload', { s3_key: 'k', backup_version: 1, backup_size: 3 }],
        ['POST', '/v0/backup/download_url', {}],
        ['POST', '/v0/backup/delete', { backup_version: 2 }],
        ['GET', '/v0/backup/settings', null],
        ['POST', '/v0/backup/settings', { backup_enabled: false }],
        ['POST', '/v0/backup/report', { kind: 'restore', status: 'success' }],
        [
          'POST',
          '/v0/push/register',
          { provider: 'expo', token: 'ExponentPushToken[x]', device_id: 'd1' },
        ],
        ['POST', '/v0/push/unregister', { device_id: 'd1' }],
      ]);
    });
  });
});
