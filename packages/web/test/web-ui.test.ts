import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webUiRoutes } from '@noah-backup/server/web-ui';

// The server's web-ui plugin over a fake build: cache headers, SPA fallback, API paths
// left to the JSON 404, the missing-build page, and the loopback redirect.
let dir: string;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'noah-webui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Noah</title><div id="root"></div>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  app = Fastify();
  app.post('/v0/backup/list', async () => []);
  await app.register(webUiRoutes, { root: dir, publicUrl: 'http://localhost:9999' });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const html = { accept: 'text/html,application/xhtml+xml', host: 'localhost:9999' };

describe('web UI plugin', () => {
  it('serves index.html at / with no-cache and security headers', async () => {
    const r = await app.inject({ url: '/', headers: html });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<div id="root">');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(r.headers['referrer-policy']).toBe('no-referrer');
  });

  it('caches hashed assets for a year', async () => {
    const r = await app.inject({
      url: '/assets/index-abc123.js',
      headers: { host: 'localhost:9999' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers client-side routes with the app (SPA fallback)', async () => {
    const r = await app.inject({ url: '/settings/backups', headers: html });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<div id="root">');
    expect(r.headers['cache-control']).toBe('no-cache');
  });

  it('leaves API paths, missing assets and non-HTML requests to the 404 handler', async () => {
    for (const [url, accept] of [
      ['/v0/backup/nope', 'text/html'],
      ['/blob/abc', 'text/html'],
      ['/assets/missing.js', 'text/html'],
      ['/some/page', 'application/json'],
    ] as const) {
      const r = await app.inject({ url, headers: { accept, host: 'localhost:9999' } });
      expect(r.statusCode, url).toBe(404);
      expect(r.body).not.toContain('<div id="root">');
    }
  });

  it('redirects another loopback name to the public URL, keeping the path', async () => {
    const r = await app.inject({
      url: '/settings?x=1',
      headers: { ...html, host: '127.0.0.1:9999' },
    });
    expect(r.statusCode).toBe(307);
    expect(r.headers.location).toBe('http://localhost:9999/settings?x=1');
  });

  it('never redirects a non-loopback host (a proxy could loop)', async () => {
    const r = await app.inject({ url: '/', headers: { ...html, host: 'backup.example.com' } });
    expect(r.statusCode).toBe(200);
  });

  it('says how to build the app when the build is missing', async () => {
    const bare = Fastify();
    await bare.register(webUiRoutes, { root: join(dir, 'nope') });
    const r = await bare.inject({ url: '/', headers: html });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build -w packages/web');
    await bare.close();
  });
});
