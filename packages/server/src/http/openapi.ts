/**
 * OpenAPI 3.1 document (docs/API.md "Operations") generated from the routes as
 * registered: the same JSON Schemas Fastify validates and serializes with
 * (src/http/schemas.ts). A route is documented when its schema has a `summary`.
 * @module
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface RouteDoc {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

/** Collects documented routes as they are registered. */
export interface OpenApiCollector {
  /** Builds the document for the routes seen so far. */
  document(serverUrl: string): Record<string, unknown>;
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '400': 'Invalid request (see `code`)',
  '401': 'Not authenticated (unauthorized, token_expired, invalid_k1, invalid_signature)',
  '403': 'Forbidden (backups_not_enabled)',
  '404': 'Not found',
  '409': 'Conflict (upload_incomplete, size_mismatch, base_changed)',
  '413': 'Too large (backup_too_large, payload_too_large)',
  '415': 'Unsupported media type',
  '429': 'Rate limited or quota exceeded (see Retry-After)',
  '503': 'Storage or database unavailable',
  '507': 'No storage space left (storage_full; see Retry-After)',
};

/**
 * Adds an `onRoute` hook to `app` that records documented routes. Call before the
 * routes are registered.
 *
 * @param app - the root instance
 * @returns the collector
 */
export function collectOpenApi(app: FastifyInstance): OpenApiCollector {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (!schema || typeof schema.summary !== 'string') return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods)
      if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: route.url, schema });
  });
  return {
    document(serverUrl) {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const r of routes) {
        const s = r.schema;
        const responses: Record<string, unknown> = {};
        for (const [status, body] of Object.entries((s.response as object) ?? {}))
          responses[status] = {
            description: STATUS_TEXT[status] ?? status,
            content: { 'application/json': { schema: body } },
          };
        const op: Record<string, unknown> = {
          summary: s.summary,
          description: s.description,
          tags: s.tags,
          operationId: `${r.method}${r.url.replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string) => (c ?? '').toUpperCase())}`,
          responses,
        };
        if (s.security) op.security = s.security;
        if (s.body)
          op.requestBody = {
            required: s.bodyRequired !== false,
            content: { 'application/json': { schema: s.body } },
          };
        paths[r.url] ??= {};
        paths[r.url]![r.method] = op;
      }
      return {
        openapi: '3.1.0',
        info: {
          title: 'Noah Backup API',
          version: '0.1.0',
          description:
            'End-to-end encrypted wallet backups. LNURL-auth (LUD-04) login, bearer tokens, pre-signed upload/download URLs. See docs/API.md.',
        },
        servers: [{ url: serverUrl }],
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        },
        paths,
      };
    },
  };
}
