/**
 * The web app's one redirect — a page asked for under another loopback name goes to the
 * public URL's host (src/web-ui.ts) — stays on that origin whatever the request target
 * looks like: `//host/…`, `/\host/…`, an absolute-form target. The real server with the
 * web app on a loopback port, raw requests (fetch would normalise the targets).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './helpers/raw-http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
let root: string;
let canonical: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'noah-web-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Noah</title>');
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'assets', 'app.js'), 'void 0;');
  // The public URL names another loopback host than the one the test connects to.
  canonical = 'http://localhost:8080';
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { publicUrl: canonical },
    webUi: { root },
  });
});
afterAll(async () => {
  await srv?.close();
  await rm(root, { recursive: true, force: true });
});

const location = (data: string) => /\r\nlocation: ([^\r\n]*)/i.exec(data)?.[1] ?? null;

describe('the loopback-host redirect', () => {
  const get = (path: string, host: string) =>
    rawRequest(srv.url, { path, headers: { host, accept: 'text/html' } });

  it('sends another loopback name to the public URL, same path and query', async () => {
    const r = await get('/restore?x=1', new URL(srv.url).host);
    expect(r.status).toBe(307);
    expect(location(r.data)).toBe(`${canonical}/restore?x=1`);
  });

  it.each([
    '//evil.example/x',
    '///evil.example/x',
    '/\\evil.example/x',
    '/\\/evil.example/x',
    'http://evil.example/x',
  ])('never leaves the public origin for %s', async (target) => {
    const r = await get(target, new URL(srv.url).host);
    const to = location(r.data);
    if (to !== null) expect(new URL(to).origin).toBe(canonical);
    expect(r.data).not.toMatch(/location: [^\r\n]*evil\.example\//i);
  });

  it('on the public host, such targets are pages or 404s, never redirects', async () => {
    // (Nor does the static server redirect a directory to its trailing slash.)
    for (const target of ['//evil.example/x', '/\\evil.example/x', '/assets', '//assets']) {
      const r = await get(target, new URL(canonical).host);
      expect(r.status).not.toBe(null);
      expect(location(r.data)).toBeNull();
    }
  });
});
