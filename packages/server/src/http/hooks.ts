/**
 * Per-request hooks: the `x-request-id` response header, one JSON log line per request
 * (method, route pattern, path without query, status, duration, user) and the HTTP
 * metrics. Once the app is closing, a request that still arrives on an open connection
 * is answered 503 `not_ready` with `Connection: close` (the catalog's JSON, unlike
 * Fastify's own closing answer), so the client retries on another instance. Replaces Fastify's own request lines, which would log full URLs. The log line
 * is only built when `info` is enabled.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { levels } from 'pino';
import { apiError } from '../errors.ts';
import { stripQuery } from '../logging.ts';
import type { Metrics } from '../metrics.ts';

const INFO = levels.values.info ?? 30;

/**
 * Installs the request hooks on the root instance.
 *
 * @param app - the root instance
 * @param metrics - HTTP counters and histogram
 */
export function installRequestHooks(app: FastifyInstance, metrics: Metrics): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing)
      throw apiError('not_ready', 'the server is shutting down; retry', {
        headers: { connection: 'close' },
      });
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the concrete URL (cardinality, and no keys in labels).
    const route = request.routeOptions.url ?? 'unmatched';
    const { method } = request;
    const status = reply.statusCode;
    metrics.httpRequests.inc({ method, route, status });
    metrics.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
    // 'silent' has no numeric value in pino's table.
    if ((levels.values[request.log.level] ?? Number.POSITIVE_INFINITY) > INFO) return;
    request.log.info(
      {
        method,
        route,
        path: stripQuery(request.url),
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        userId: request.principal?.userId,
      },
      'request',
    );
  });
}
