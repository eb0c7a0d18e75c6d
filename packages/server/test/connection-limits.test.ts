/**
 * One client must not hold the server (docs/OPERATIONS.md "Timeouts and connection
 * limits"): header, body, request and idle timeouts; caps on connections in total and per
 * client address (IPv6 by /64); the login limit counted before a body is read; limits on
 * the fs store's blob routes and on requests with invalid tokens. The real server on a
 * loopback port, raw sockets, small configured values.
 */
import type { DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../src/config.ts';
import { addressGroup } from '../src/http/limits.ts';
import { backupApi, login, newKey } from './helpers/client.ts';
import { idleConnection, rawExchange, rawRequest } from './helpers/raw-http.ts';
import { type TestServer, startTestServer, testConfig } from './helpers/server.ts';

const base = testConfig();
const http = (o: Partial<ServerConfig['http']>): ServerConfig['http'] => ({ ...base.http, ...o });
const limits = (o: Partial<ServerConfig['rateLimit']>): ServerConfig['rateLimit'] => ({
  ...base.rateLimit,
  ...o,
});

async function uploadTarget(srv: TestServer, size: number) {
  const api = backupApi(srv.url, await login(srv.url, newKey()));
  const r = await api<UploadUrlResponse>('upload_url', { backup_size: size });
  expect(r.status).toBe(200);
  const u = new URL(r.body.upload_url);
  return { api, up: r.body, path: u.pathname + u.search };
}

// Each test waits out one of the server's timers on its own connection: they run side
// by side (their sum was ~15 s of waiting).
describe.concurrent('timeouts', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: {
        http: http({
          headersTimeoutSec: 1,
          bodyTimeoutSec: 1,
          requestTimeoutSec: 5,
          idleTimeoutSec: 3,
          keepAliveTimeoutSec: 1,
        }),
      },
    });
  });
  afterAll(() => srv?.close());

  it('a login body that stalls is cut after BODY_TIMEOUT', async ({ expect }) => {
    const r = await rawExchange(srv.url, {
      send: `POST /v0/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"k1":`,
      waitMs: 4000,
    });
    expect(r.closed).toBe(true);
    // BODY_TIMEOUT (1 s), not REQUEST_TIMEOUT (5 s); the margin is for a loaded machine.
    expect(r.ms).toBeLessThan(3500);
  });

  it('requests injected in-process (no socket) outlive BODY_TIMEOUT unharmed', async ({
    expect,
  }) => {
    // app.inject serves the benchmarks' and tools' set-up: its requests have no socket
    // to close, and a bodiless one never signals its end.
    const get = () => srv.app.inject({ method: 'GET', url: '/v0/getk1' });
    expect((await get()).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await get()).statusCode).toBe(200);
  });

  it('an upload body that stalls is cut after IDLE_TIMEOUT', async ({ expect }) => {
    const { path } = await uploadTarget(srv, 1000);
    const r = await rawExchange(srv.url, {
      send: `PUT ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n${'a'.repeat(100)}`,
      waitMs: 6000,
    });
    expect(r.closed).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(2900);
    expect(r.ms).toBeLessThan(4500);
  });

  it('an upload that trickles is cut after REQUEST_TIMEOUT, and stores nothing', async ({
    expect,
  }) => {
    const { up, path } = await uploadTarget(srv, 1000);
    const r = await rawExchange(srv.url, {
      send: `PUT ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n`,
      trickleMs: 200,
      waitMs: 8000,
    });
    expect(r.closed).toBe(true);
    // Bytes keep coming, so only the whole-request deadline ends it.
    expect(r.ms).toBeGreaterThanOrEqual(4500);
    expect(r.ms).toBeLessThan(6500);
    expect(await srv.blobs.head(up.s3_key)).toBeNull();
  });

  it('headers that never end are cut after HEADERS_TIMEOUT', async ({ expect }) => {
    const r = await rawExchange(srv.url, {
      send: 'GET /health HTTP/1.1\r\nhost: x\r\n',
      waitMs: 4000,
    });
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(2500);
  });

  it('an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT', async ({ expect }) => {
    const r = await rawExchange(srv.url, {
      send: 'GET /health HTTP/1.1\r\nhost: x\r\n\r\n',
      waitMs: 4000,
    });
    expect(r.status).toBe(200);
    expect(r.closed).toBe(true);
    // Node adds one second to the keep-alive timeout; IDLE_TIMEOUT is 3 s here.
    expect(r.ms).toBeLessThan(2700);
  });
});

describe('connection caps', () => {
  let srv: TestServer;
  const open: { close(): void }[] = [];
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { http: http({ maxConnections: 6, maxConnectionsPerAddress: 3 }) },
    });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(() => srv?.close());

  const hold = async (from: string) => {
    const c = await idleConnection(srv.url, from);
    open.push(c);
    return c;
  };
  const health = (from: string) => rawRequest(srv.url, { path: '/health', localAddress: from });
  const settle = () => new Promise((r) => setTimeout(r, 100));

  it('one address may hold MAX_CONNECTIONS_PER_ADDRESS connections; others still get in', async () => {
    for (let i = 0; i < 3; i++) await hold('127.0.0.2');
    const refused = await health('127.0.0.2');
    expect(refused.status).toBeNull();
    expect(refused.closed).toBe(true);
    expect((await health('127.0.0.3')).status).toBe(200);
    // Once one closes, the address gets a connection again.
    open.pop()?.close();
    await settle();
    expect((await health('127.0.0.2')).status).toBe(200);
  });

  it('at MAX_CONNECTIONS nobody else gets in, until connections close', async () => {
    for (const from of [
      '127.0.0.4',
      '127.0.0.4',
      '127.0.0.5',
      '127.0.0.5',
      '127.0.0.6',
      '127.0.0.6',
    ])
      await hold(from);
    const refused = await health('127.0.0.7');
    expect(refused.status).toBeNull();
    expect(refused.closed).toBe(true);
    open.pop()?.close();
    await settle();
    expect((await health('127.0.0.7')).status).toBe(200);
  });

  it('groups IPv6 addresses by /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe(addressGroup('2001:db8:1:2:ffff:1:2:3'));
    expect(addressGroup('2001:db8:1:2::1')).not.toBe(addressGroup('2001:db8:1:3::1'));
    expect(addressGroup('::ffff:192.0.2.7')).toBe(addressGroup('192.0.2.7'));
    expect(addressGroup('192.0.2.7')).not.toBe(addressGroup('192.0.2.8'));
    expect(addressGroup('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe(
      addressGroup('2001:db8:1:2::9'),
    );
  });
});

describe('the login limit', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { rateLimit: limits({ authPerMinute: 2 }) },
    });
  });
  afterAll(() => srv?.close());

  it('answers 429 before the body is read', async () => {
    for (let i = 0; i < 2; i++)
      expect((await rawRequest(srv.url, { path: '/v0/getk1' })).status).toBe(200);
    // Headers only: the body never comes, yet the answer does.
    const r = await rawExchange(srv.url, {
      send: `POST /v0/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`,
      waitMs: 3000,
      untilStatus: true,
    });
    expect(r.status).toBe(429);
    expect(r.data).toMatch(/retry-after: \d+/i);
  });
});

describe('rate limits on the blob routes and on invalid tokens', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { rateLimit: limits({ blobPerMinute: 3, badTokenPerMinute: 3 }) },
    });
  });
  afterAll(() => srv?.close());

  it('the blob routes are limited per client address', async () => {
    const token = await login(srv.url, newKey());
    const api = backupApi(srv.url, token);
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 5 })).body;
    const put = new URL(up.upload_url);
    const from = '127.0.0.9';
    const first = await rawRequest(srv.url, {
      method: 'PUT',
      path: put.pathname + put.search,
      body: 'abcde',
      localAddress: from,
    });
    expect(first.status).toBe(200);
    await api('complete_upload', { s3_key: up.s3_key, backup_version: 1, backup_size: 5 });
    const get = new URL((await api<DownloadUrlResponse>('download_url')).body.download_url);
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await rawRequest(srv.url, { path: get.pathname + get.search, localAddress: from })).status,
      );
    expect(statuses).toEqual([200, 200, 429]);
    // Another address is not affected.
    const other = await rawRequest(srv.url, {
      path: get.pathname + get.search,
      localAddress: '127.0.0.10',
    });
    expect(other.status).toBe(200);
  });

  it('requests with invalid tokens are limited per client address; valid tokens are not', async () => {
    const token = await login(srv.url, newKey());
    const from = '127.0.0.11';
    const call = (bearer: string) =>
      rawRequest(srv.url, {
        method: 'POST',
        path: '/v0/backup/list',
        headers: { authorization: `Bearer ${bearer}` },
        localAddress: from,
      });
    const bad = 'A'.repeat(43);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(bad)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // A good token from the same address still works: behind a carrier NAT one client
    // guessing tokens must not lock out everyone else on that address …
    expect((await call(token)).status).toBe(200);
    expect((await call(bad)).status).toBe(429);
    // … while a good token from elsewhere works.
    const elsewhere = await rawRequest(srv.url, {
      method: 'POST',
      path: '/v0/backup/list',
      headers: { authorization: `Bearer ${token}` },
      localAddress: '127.0.0.12',
    });
    expect(elsewhere.status).toBe(200);
  });
});
