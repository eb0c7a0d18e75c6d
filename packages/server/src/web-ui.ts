/**
 * Serves the web app (`packages/web/dist`, built by Vite) at `/` (README.md).
 * Hashed assets under `/assets/` are cached for a year (`immutable`); `index.html` and
 * other files are revalidated on every load (`no-cache`), so a new build shows at once.
 * A GET for an unknown path that is not an API path and asks for HTML gets `index.html`
 * (SPA fallback); API paths keep the server's JSON 404/405. Without a build, `/`
 * answers 503 with a page that says how to build it.
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Options of {@link webUiRoutes}. */
export interface WebUiOptions {
  /** The built app's directory (default: `packages/web/dist` of this checkout). */
  root?: string;
  /**
   * The server's public URL. When it is a loopback URL (`http://localhost:8080`) and a
   * page is asked for under another loopback name (`127.0.0.1`), the page redirects to
   * it: the blob store's signed URLs name the public origin (another origin would need
   * CORS), and the LNURL-auth identity is per host name (LUD-05), so the web app must
   * run on the same host the CLI and the signed URLs use.
   */
  publicUrl?: string;
}

/** The default location of the built web app. */
export const DEFAULT_WEB_ROOT = resolve(import.meta.dirname, '../../web/dist');

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Path prefixes that belong to the API and operations routes: never the SPA. */
const API_PREFIXES = ['/v0/', '/blob/', '/health', '/ready', '/metrics'];

/**
 * Security headers of the app's pages. `wasm-unsafe-eval` lets the page compile
 * SQLite's WebAssembly; `connect-src *` because pre-signed URLs may point at an S3
 * host; no referrer, so a pre-signed URL never leaks through one.
 */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
    "connect-src *; img-src 'self' data:; style-src 'self'; object-src 'none'; " +
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const MISSING_BUILD = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Noah Backup</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web app is not built yet</h1>
<p>The Noah Backup API is running, but the web screens have not been built.
Run <code>npm run build -w packages/web</code> in the repository and reload this page,
or start the server with <code>npm start</code>, which builds them first.</p>
</body></html>
`;

/**
 * The redirect target for a request target on the canonical origin: only its path and
 * query are kept. Resolving the raw target against the origin would let `//host/…`,
 * `/\host/…` or an absolute-form target (`http://host/…`) name another origin — an open
 * redirect.
 *
 * @param canonical - the public URL
 * @param target - the request target as received
 * @returns an absolute URL on `canonical`'s origin
 * @example
 * ```ts
 * sameOriginTarget(new URL('http://localhost:8080'), '//evil.example/x'); // 'http://localhost:8080/x'
 * ```
 */
export function sameOriginTarget(canonical: URL, target: string): string {
  let path = '/';
  try {
    // Parsed against a throwaway base: whatever host the target names is dropped.
    const u = new URL(target, 'http://invalid.invalid');
    path = u.pathname + u.search;
  } catch {}
  return canonical.origin + path;
}

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
}

function sendIndex(reply: FastifyReply): FastifyReply {
  reply.headers({ ...PAGE_HEADERS, 'cache-control': 'no-cache' });
  return reply.sendFile('index.html');
}

/**
 * The Fastify plugin serving the web app. Register it on the root instance, after the
 * API routes.
 *
 * @param app - the Fastify instance
 * @param opts - where the build lives
 * @example
 * ```ts
 * await app.register(webUiRoutes); // or { root: '/srv/noah/web' }
 * ```
 */
export const webUiRoutes: FastifyPluginAsync<WebUiOptions> = async (app, opts) => {
  const root = resolve(opts.root ?? DEFAULT_WEB_ROOT);
  const canonical = opts.publicUrl ? new URL(opts.publicUrl) : null;
  if (canonical && LOOPBACK.has(canonical.hostname)) {
    // Only loopback → loopback: behind a proxy that rewrites Host this could loop.
    app.addHook('onRequest', async (request, reply) => {
      if (request.host === canonical.host || !LOOPBACK.has(request.hostname)) return;
      return reply.redirect(sameOriginTarget(canonical, request.url), 307);
    });
  }
  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ root }, 'web app not built: run `npm run build -w packages/web`');
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(MISSING_BUILD),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per file found now (the build is done before the server starts), so
    // the fallback below can own every other GET.
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders(res, path) {
      const rel = path.slice(root.length).replaceAll('\\', '/');
      if (rel.startsWith('/assets/'))
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      else res.setHeader('cache-control', 'no-cache');
      if (rel.endsWith('.html'))
        for (const [k, v] of Object.entries(PAGE_HEADERS)) res.setHeader(k, v);
    },
  });
  // SPA fallback: client-side routes load the app; API paths and missing assets 404.
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const wantsHtml = (request.headers.accept ?? '').includes('text/html');
    if (isApiPath(path) || path.startsWith('/assets/') || !wantsHtml) return reply.callNotFound();
    return sendIndex(reply);
  });
};
