/**
 * Operations routes (docs/OPERATIONS.md): `GET /health` (the process is up), `GET /ready`
 * (both stores answer, else 503 `not_ready`; `uploads: false` while a local store's disk
 * is below MIN_FREE_SPACE), `GET /ready/uploads` (the same, but 507 `storage_full` on
 * such a disk), `GET /metrics` (Prometheus text) and `GET /v0/openapi.json`.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError, STORAGE_FULL_RETRY_AFTER_SEC } from '../errors.ts';
import type { OpenApiCollector } from '../http/openapi.ts';
import { errorResponses, readyResponse, statusResponse } from '../http/schemas.ts';
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
    /** MIN_FREE_SPACE: below it on a local store's disk, not ready for uploads. */
    minFreeSpace: number;
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

  /** The stores answer (else 503 `not_ready`); then which local disks lack room. */
  const check = async (request: FastifyRequest): Promise<string[]> => {
    const results = await Promise.allSettled([deps.metadata.ping(), deps.blobs.ping()]);
    const down = (['metadata', 'blobs'] as const).filter(
      (_, i) => results[i]!.status === 'rejected',
    );
    if (down.length > 0) {
      for (const r of results)
        if (r.status === 'rejected') request.log.warn({ err: r.reason }, 'readiness check failed');
      throw apiError('not_ready', `not ready: ${down.join(' and ')} store unavailable`);
    }
    const full: string[] = [];
    for (const [name, store] of [
      ['metadata', deps.metadata],
      ['blob', deps.blobs],
    ] as const) {
      const free = await store.freeBytes?.().catch(() => null);
      if (free != null && free < deps.minFreeSpace)
        full.push(`${name} store's disk has ${free} bytes free`);
    }
    return full;
  };

  // A full disk takes no uploads but still serves lists, downloads and restores, so the
  // instance stays in the balancer: /ready says `uploads: false`, and /ready/uploads
  // answers 507 for a balancer that routes uploads apart (docs/OPERATIONS.md "A full disk").
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the stores answer; `uploads` says whether their disks have room',
        tags: ['operations'],
        response: { 200: readyResponse, ...errorResponses(503) },
      },
    },
    async (request) => {
      const full = await check(request);
      return full.length > 0
        ? {
            status: 'ready',
            uploads: false,
            reason: `the ${full.join(', the ')} (MIN_FREE_SPACE is ${deps.minFreeSpace})`,
          }
        : { status: 'ready', uploads: true };
    },
  );

  app.get(
    '/ready/uploads',
    {
      schema: {
        summary: 'Readiness for uploads: the stores answer and their disks have room',
        tags: ['operations'],
        response: { 200: statusResponse, ...errorResponses(503, 507) },
      },
    },
    async (request) => {
      const full = await check(request);
      if (full.length > 0)
        throw apiError(
          'storage_full',
          `not ready for uploads: the ${full.join(', the ')} (MIN_FREE_SPACE is ${deps.minFreeSpace}); downloads still work`,
          { headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_SEC) } },
        );
      return { status: 'ready' };
    },
  );

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/v0/openapi.json', async () => deps.openapi.document(deps.publicUrl));
}
