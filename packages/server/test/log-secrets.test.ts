/**
 * Secrets never reach the logs through free text (docs/OPERATIONS.md "Logs and metrics"):
 * message strings that quote a URL (as Fastify's own warnings do), error messages and
 * stacks, and what a client writes into its outcome report. Structured fields are covered
 * in ops.test.ts.
 */
import type { UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../src/logging.ts';
import { backupApi, call, login, newKey } from './helpers/client.ts';
import { type TestServer, fullCombos, startTestServer } from './helpers/server.ts';

describe('scrubSecrets', () => {
  it.each([
    ['/blob/b/1?exp=9&size=5&sig=AbC_d-1', '/blob/b/1?exp=9&size=5&sig=[redacted]'],
    [
      'http://s3/b/k?X-Amz-Credential=AK%2F1&X-Amz-Date=1&X-Amz-Signature=beef&x-id=PutObject',
      'http://s3/b/k?X-Amz-Credential=[redacted]&X-Amz-Date=1&X-Amz-Signature=[redacted]&x-id=PutObject',
    ],
    ['?X-Amz-Security-Token=tok&a=1', '?X-Amz-Security-Token=[redacted]&a=1'],
    ['libsql://db.turso.io?authToken=eyJ.x.y', 'libsql://db.turso.io?authToken=[redacted]'],
    ['"authorization": "Bearer aB3_-x.y~z="', '"authorization": "Bearer [redacted]"'],
    ['to ExponentPushToken[xxxxyyyy] failed', 'to ExponentPushToken[redacted] failed'],
    ['nothing secret here: /v0/backup/list?x=1', 'nothing secret here: /v0/backup/list?x=1'],
  ])('%s', (text, expected) => {
    expect(scrubSecrets(text)).toBe(expected);
  });
});

describe('the logger', () => {
  function capture() {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    return { logger, text: () => lines.join('') };
  }

  it('scrubs message strings, interpolated ones included', () => {
    const { logger, text } = capture();
    // The shape of Fastify's "Reply was already sent … in the "<raw url>" route" warning.
    logger.warn('Reply was already sent, in the "/blob/b/1?exp=1&sig=S3CRET-A" (GET) route');
    logger.info({ n: 1 }, 'fetching %s', 'https://h/x?X-Amz-Signature=S3CRET-B');
    expect(text()).not.toMatch(/S3CRET/);
    expect(text()).toContain('sig=[redacted]');
  });

  it('logs errors as name, code, message and stack, scrubbed, without other fields', () => {
    const { logger, text } = capture();
    const err = Object.assign(new Error('PUT https://h/b?sig=S3CRET-C failed'), {
      code: 'E_TEST',
      request: { headers: { authorization: 'Bearer S3CRET-D' } },
      cause: new Error('authorization: Bearer S3CRET-E'),
    });
    logger.error({ err }, 'upload failed');
    const line = JSON.parse(text());
    expect(line.err).toMatchObject({ type: 'Error', code: 'E_TEST' });
    expect(line.err.request).toBeUndefined();
    expect(text()).not.toMatch(/S3CRET/);
  });
});

describe.each(fullCombos)('server logs on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  it('a client report quoting a pre-signed URL is logged without its signature', async () => {
    const token = await login(srv.url, newKey());
    const api = backupApi(srv.url, token);
    const up = (await api<UploadUrlResponse>('upload_url', { backup_size: 10 })).body;
    const u = new URL(up.upload_url);
    const [name, signature] = [...u.searchParams].find(([k]) => /^(sig|X-Amz-Signature)$/.test(k))!;
    // The report's `error` is at most 500 characters: the URL's path and its signature.
    const r = await api('report', {
      kind: 'backup',
      status: 'failure',
      error: `PUT ${u.origin}${u.pathname}?${name}=${signature} failed (authorization: Bearer ${token})`,
    });
    expect(r.status).toBe(200);
    const logs = srv.logs.join('');
    expect(logs).toContain('client report');
    expect(logs).not.toContain(signature);
    expect(logs).not.toContain(token);
  });

  it('unknown routes and refused blob URLs are logged by path, without their query', async () => {
    await call(`${srv.url}/v0/nope?access_token=S3CRET-F&sig=S3CRET-G`, { method: 'GET' });
    await call(`${srv.url}/blob/b/00?exp=1&sig=S3CRET-H`, { method: 'GET' });
    await call(`${srv.url}/blob/b/00?exp=1&size=1&sig=S3CRET-I`, { method: 'PUT', body: {} });
    const logs = srv.logs.join('');
    expect(logs).toContain('"path":"/v0/nope"');
    expect(logs).not.toMatch(/S3CRET/);
  });
});
