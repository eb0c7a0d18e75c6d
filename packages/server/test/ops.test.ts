import { randomBytes } from 'node:crypto';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { signK1 } from '@noah-backup/core/lnurl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schemas from '../src/http/schemas.ts';
import { backupApi, call, getBytes, getK1, login, newKey, putBytes } from './helpers/client.ts';
import { type TestServer, fullCombos, startTestServer } from './helpers/server.ts';

type Content = Record<string, { schema: unknown }>;
interface OpenApiDoc {
  openapi: string;
  servers: { url: string }[];
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Content };
        responses: Record<string, { content: Content }>;
        security?: unknown;
      }
    >
  >;
}

interface ErrorBody {
  code: string;
  message: string;
  request_id: string;
}

function expectError(
  r: { status: number; body: unknown; headers: Headers },
  status: number,
  code: string,
) {
  expect(r.status).toBe(status);
  const body = r.body as ErrorBody;
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.headers.get('x-request-id')).toBe(body.request_id);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  return body;
}

describe('errors, health, metrics, OpenAPI (sqlite + fs)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  });
  afterAll(() => srv?.close());

  it('every framework error is JSON {code, message, request_id}', async () => {
    expectError(await call(`${srv.url}/v0/nope`, { method: 'GET' }), 404, 'not_found');
    expectError(
      await call(`${srv.url}/nothing/here`, { method: 'POST', body: {} }),
      404,
      'not_found',
    );
    const m = await call(`${srv.url}/v0/backup/list`, { method: 'PUT', body: {} });
    expectError(m, 405, 'method_not_allowed');
    expect(m.headers.get('allow')).toBe('POST');
    const big = { k1: 'ab'.repeat(32), sig: '00', key: 'x'.repeat(17 * 1024) };
    expectError(await call(`${srv.url}/v0/auth/login`, { body: big }), 413, 'payload_too_large');
    const text = await call(`${srv.url}/v0/auth/login`, {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expectError(text, 415, 'unsupported_media_type');
    const json = await call(`${srv.url}/v0/auth/login`, { body: '{"k1": ' });
    expect(expectError(json, 400, 'bad_request').message).toContain('JSON');
    const empty = await call(`${srv.url}/v0/auth/login`, {
      headers: { 'content-type': 'application/json' },
    });
    expectError(empty, 400, 'bad_request');
    const v = await call(`${srv.url}/v0/auth/login`, { body: { k1: 'ab'.repeat(32), key: 'x' } });
    expect(expectError(v, 400, 'bad_request').message).toBe('body.sig is required');
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    expectError(await api('upload_url', { backup_size: 'ten' }), 400, 'bad_request');
    expectError(await api('download_url', { backup_version: 1 }), 404, 'backup_not_found');
    expectError(await call(`${srv.url}/v0/backup/list`, {}), 401, 'unauthorized');
  });

  it('health and readiness', async () => {
    const h = await call(`${srv.url}/health`, { method: 'GET' });
    expect(h.status).toBe(200);
    expect(h.body).toEqual({ status: 'ok' });
    const r = await call(`${srv.url}/ready`, { method: 'GET' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ready', uploads: true });
  });

  it('metrics count requests by route, upload URLs, completions and bytes', async () => {
    const api = backupApi(srv.url, await login(srv.url));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 321 })).body;
    await putBytes(up.upload_url, new Uint8Array(321), up.upload_headers);
    await api('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: 321,
    });
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(
      /noah_http_requests_total\{method="POST",route="\/v0\/backup\/upload_url",status="200"\} 1/,
    );
    expect(text).toMatch(
      /noah_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/v0\/getk1"\}/,
    );
    expect(text).toMatch(/noah_upload_urls_issued_total \d+/);
    expect(text).toMatch(/noah_backups_completed_total [1-9]/);
    expect(text).toMatch(/noah_backup_bytes_completed_total [1-9]/);
    expect(text).toMatch(/noah_bytes_stored [1-9]\d*/);
    expect(text).toMatch(/noah_users [1-9]/);
    // Route patterns only: no object keys or tokens in labels.
    expect(text).not.toContain(up.s3_key);
  });

  it('serves an OpenAPI 3.1 document built from the validation schemas', async () => {
    const r = await call<OpenApiDoc>(`${srv.url}/v0/openapi.json`, { method: 'GET' });
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers[0]?.url).toBe(srv.url);
    const paths = doc.paths;
    for (const [path, method] of [
      ['/v0/getk1', 'get'],
      ['/v0/auth/login', 'post'],
      ['/v0/auth/logout', 'post'],
      ['/v0/backup/upload_url', 'post'],
      ['/v0/backup/complete_upload', 'post'],
      ['/v0/backup/list', 'post'],
      ['/v0/backup/download_url', 'post'],
      ['/v0/backup/delete', 'post'],
      ['/v0/backup/settings', 'post'],
      ['/v0/backup/settings', 'get'],
      ['/v0/backup/report', 'post'],
      ['/health', 'get'],
      ['/ready', 'get'],
    ] as const)
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const up = paths['/v0/backup/upload_url']!.post!;
    expect(up.requestBody?.content['application/json']?.schema).toEqual(schemas.uploadUrlBody);
    expect(up.responses['200']?.content['application/json']?.schema).toEqual(
      schemas.uploadUrlResponse,
    );
    expect(up.responses['413']?.content['application/json']?.schema).toEqual(schemas.errorSchema);
    expect(up.security).toEqual([{ bearer: [] }]);
    expect(paths['/v0/auth/login']?.post?.requestBody?.content['application/json']?.schema).toEqual(
      schemas.loginBody,
    );
  });
});

describe('rate limits', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: {
        rateLimit: { authPerMinute: 4, userPerMinute: 5, blobPerMinute: 0, badTokenPerMinute: 0 },
      },
    });
  });
  afterAll(() => srv?.close());

  it('limits getk1 + login per IP with 429 rate_limited and Retry-After', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url); // 1
    await getK1(srv.url); // 2
    await getK1(srv.url); // 3
    const ok = await call(`${srv.url}/v0/auth/login`, {
      body: { k1, sig: signK1(k1, key.privateKey), key: key.key },
    }); // 4: login shares the counter
    expect(ok.status).toBe(200);
    const token = (ok.body as { access_token: string }).access_token;
    const r = await call(`${srv.url}/v0/getk1`, { method: 'GET' });
    expectError(r, 429, 'rate_limited');
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(r.headers.get('x-ratelimit-limit')).toBe('4');
    // Per user on /v0/backup/*: 5 per minute for this user, whatever the route.
    const api = backupApi(srv.url, token);
    for (let i = 0; i < 3; i++) expect((await api('list')).status).toBe(200);
    expect((await api('settings', undefined, 'GET')).status).toBe(200);
    expect((await api('download_url', {})).status).toBe(404);
    const limited = await api('list');
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Health and metrics are never limited.
    expect((await call(`${srv.url}/health`, { method: 'GET' })).status).toBe(200);
  });
});

describe.each(fullCombos)('logs on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  it('hold request ids but no token, signature or pre-signed URL', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    const sig = signK1(k1, key.privateKey);
    const loginRes = await call<{ access_token: string }>(`${srv.url}/v0/auth/login`, {
      body: { k1, sig, key: key.key },
    });
    const token = loginRes.body.access_token;
    const api = backupApi(srv.url, token);
    const bytes = new Uint8Array(randomBytes(500));
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 500 })).body;
    await putBytes(up.upload_url, bytes, up.upload_headers);
    await putBytes(up.upload_url.replace(/.$/, '0'), bytes, up.upload_headers); // refused
    await api<BackupInfo>('complete_upload', {
      s3_key: up.s3_key,
      backup_version: up.backup_version,
      backup_size: 500,
    });
    const down = (await api<DownloadUrlResponse>('download_url', {})).body;
    expect((await getBytes(down.download_url)).status).toBe(200);
    await api('report', { kind: 'backup', status: 'success' });
    await call(`${srv.url}/v0/backup/list`, { token: 'x'.repeat(43) });
    await call(`${srv.url}/v0/auth/logout`, { token });

    const logs = srv.logs.join('');
    expect(srv.logs.length).toBeGreaterThan(8);
    for (const line of srv.logs) JSON.parse(line);
    expect(logs).toContain(loginRes.headers.get('x-request-id')!);
    expect(logs).toContain('/v0/backup/complete_upload');
    for (const secret of [
      token,
      sig,
      new URL(up.upload_url).search.slice(1),
      new URL(down.download_url).search.slice(1),
      up.upload_url,
      down.download_url,
    ])
      expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/X-Amz-Signature|X-Amz-Credential|[?&]sig=|authorization":"Bearer/i);
  });
});
