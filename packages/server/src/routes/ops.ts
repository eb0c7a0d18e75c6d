/**
 * Operations routes (issue 3 item 6): `GET /health` (the process is up), `GET /ready`
 * (both stores answer; 503 `not_ready` otherwise), `GET /metrics` (Prometheus text) and
 * `GET /v0/openapi.json`.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { apiError } from '../errors.ts';
import type { OpenApiCollector } from '../http/openapi.ts';
import { errorResponses, statusResponse } from '../http/schemas.ts';
import type { Metrics } from '../metrics.ts';
import type { BlobStore } from '../stores/blob.ts';
import type { MetadataStore } from '../stores/metadata.ts';

/**
 * Registers the operations routes.
 *
 * @param app - the root instance
 * @param deps - stores to ping, metrics registry, OpenAPI collector, public URL
 */
export async function opsRoutes(
  app: FastifyInstance,
  deps: {
    metadata: MetadataStore;
    blobs: BlobStore;
    metrics: Metrics;
    openapi: OpenApiCollector;
    publicUrl: string;
  },
): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        response: { 200: statusResponse },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the metadata and blob stores answer',
        tags: ['operations'],
        response: { 200: statusResponse, ...errorResponses(503) },
      },
    },
    async (request) => {
      const results = await Promise.allSettled([deps.metadata.ping(), deps.blobs.ping()]);
      const down = (['metadata', 'blobs'] as const).filter(
        (_, i) => results[i]!.status === 'rejected',
      );
      if (down.length > 0) {
        for (const r of results)
          if (r.status === 'rejected')
            request.log.warn({ err: r.reason }, 'readiness check failed');
        throw apiError('not_ready', `not ready: ${down.join(' and ')} store unavailable`);
      }
      return { status: 'ready' };
    },
  );

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/v0/openapi.json', async () => deps.openapi.document(deps.publicUrl));
}
