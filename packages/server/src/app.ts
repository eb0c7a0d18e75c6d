/**
 * The app factory (`buildServer(deps)`, separate from `listen` in
 * start.ts, so tests inject the app without a port): wires config, the two stores, clock
 * and randomness into a Fastify instance with the auth, backup and operations routes, the
 * blob store's own routes (fs signed URLs), one error handler, rate limits, metrics and
 * the sweeper timer. It does not listen and does not own the stores: the caller closes
 * them (src/start.ts).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type Clock, type RandomBytes, secureRandom, systemClock } from '@noah-backup/core/clock';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { noahAuthenticator, noahLogin } from './compat/noah/auth.ts';
import { createRelaySigner, noahRelayRoutes } from './compat/noah/relay.ts';
import { noahRoutes } from './compat/noah/routes.ts';
import type { ServerConfig } from './config.ts';
import { installErrorHandlers } from './http/errors.ts';
import { installRequestHooks } from './http/hooks.ts';
import { applyHttpLimits, bodyTimeoutHook, createHttpServer } from './http/limits.ts';
import { collectOpenApi } from './http/openapi.ts';
import { authLimitKey, createFailureLimiter, rateLimitHook } from './http/rate-limit.ts';
import { createLogger } from './logging.ts';
import { type Metrics, createMetrics } from './metrics.ts';
import { createPushRuntime } from './push/index.ts';
import { authRoutes } from './routes/auth.ts';
import { backupRoutes } from './routes/backups.ts';
import { opsRoutes } from './routes/ops.ts';
import { pushRoutes } from './routes/push.ts';
import { type AuthService, type Principal, createAuthService } from './services/auth.ts';
import { type BackupService, createBackupService } from './services/backups.ts';
import { linkReports } from './services/push.ts';
import type { BlobStore } from './stores/blob.ts';
import type { MetadataStore } from './stores/metadata.ts';
import { startScrubber } from './scrub.ts';
import { startSweeper } from './sweeper.ts';
import { type WebUiOptions, webUiRoutes } from './web-ui.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bearer hook of authenticated routes; null elsewhere. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** The server's services and metrics, for tests and the CLI. */
    noah: { auth: AuthService; backups: BackupService; metrics: Metrics };
  }
  interface FastifySchema {
    /** OpenAPI annotations (src/http/openapi.ts); not validated. */
    summary?: string;
    description?: string;
    tags?: string[];
    security?: Record<string, string[]>[];
    bodyRequired?: boolean;
  }
}

function attach(server: Server) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    server.on('request', handler);
    return server;
  };
}

/** JSON bodies of the API are small; backups never pass through the JSON routes. */
export const JSON_BODY_LIMIT = 16 * 1024;

/** What {@link buildServer} needs. */
export interface ServerDeps {
  config: ServerConfig;
  metadata: MetadataStore;
  blobs: BlobStore;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: the platform CSPRNG. */
  random?: RandomBytes;
  /** Default: a JSON logger at `config.logLevel` on stdout. */
  logger?: Logger;
  /**
   * Serve on this HTTP server (it may already listen, e.g. on port 0 so that the fs
   * store's URLs can name the port) instead of creating one; the caller closes it.
   * Create it with `createHttpServer` (src/http/limits.ts) so that the header and request
   * timeouts are checked often; the other limits are applied to it here.
   */
  httpServer?: Server;
  /** The web app (src/web-ui.ts) at `/`: default on, at the default build location. */
  webUi?: boolean | WebUiOptions;
}

/**
 * Builds the HTTP app (not listening).
 *
 * @param deps - configuration, stores, and optional clock, randomness and logger
 * @returns the ready Fastify instance; `listen` it, and `close` it before the stores
 * @example
 * ```ts
 * const app = await buildServer({ config, metadata, blobs });
 * await app.listen({ port: config.port, host: config.host });
 * ```
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, metadata, blobs } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? secureRandom;
  const logger = deps.logger ?? createLogger({ level: config.logLevel });

  const { trustProxy } = config;
  // Behind a trusted proxy every connection comes from the proxy: no per-address cap.
  const perAddress = trustProxy === false;
  if (deps.httpServer) applyHttpLimits(deps.httpServer, config.http, { perAddress });
  const httpServer = deps.httpServer ?? createHttpServer(config.http, { perAddress });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    // A hop count trusts that many proxies nearest to us (proxy-addr semantics).
    trustProxy:
      typeof trustProxy === 'number'
        ? (_addr: string, hop: number) => hop < trustProxy
        : trustProxy,
    // Strict validation: reject unknown fields and wrong types instead of fixing them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // While closing, requests on connections still open get a JSON 503 (src/http/hooks.ts).
    return503OnClosing: false,
    serverFactory: attach(httpServer),
  });
  app.decorateRequest('principal', null);

  const metrics = createMetrics({ metadata, clock });
  const auth = createAuthService({
    metadata,
    clock,
    random,
    k1TtlSec: config.k1TtlSec,
    tokenTtlSec: config.tokenTtlSec,
    // NOAH_COMPAT=1: Noah's app logs in with its own signature (src/compat/noah/).
    ...(config.noahCompat ? { alternative: noahLogin(config.noahCompat) } : {}),
  });
  // The daily trigger (docs/PUSH.md): senders, push service, metrics, scheduler.
  const push = createPushRuntime({
    config,
    store: metadata,
    clock,
    random,
    logger,
    registry: metrics.registry,
  });
  const unlinked = createBackupService({
    metadata,
    blobs,
    clock,
    random,
    metrics,
    logger,
    limits: {
      maxBackupSize: config.maxBackupSize,
      uploadUrlTtlSec: config.uploadUrlTtlSec,
      downloadUrlTtlSec: config.downloadUrlTtlSec,
      maxPendingUploads: config.maxPendingUploads,
      maxPendingObjects: config.maxPendingObjects,
      maxTotalStorage: config.maxTotalStorage,
      inFlightGraceSec: config.http.requestTimeoutSec,
      minFreeSpace: config.minFreeSpace,
      rollout: config.rollout,
    },
  });
  // Outcome reports name the trigger they answer (services/push.ts).
  const backups = linkReports(unlinked, push.service);
  app.decorate('noah', { auth, backups, metrics });
  app.decorate('noahPush', push);

  // Requests with an invalid bearer token, per client address (src/http/bearer.ts).
  const badTokens = createFailureLimiter({
    perMinute: config.rateLimit.badTokenPerMinute,
    clock,
  });
  const noah = config.noahCompat && {
    config: config.noahCompat,
    signer: createRelaySigner({
      secret: config.noahCompat.jwtSecret,
      publicUrl: config.publicUrl,
      ttlSec: config.uploadUrlTtlSec,
      clock,
    }),
  };
  const openapi = collectOpenApi(app);
  installErrorHandlers(app);
  installRequestHooks(app, metrics);
  // Counters only; the groups and keys are chosen in src/http/rate-limit.ts.
  await app.register(rateLimit, { global: false, cache: 100_000 });

  await app.register(opsRoutes, {
    metadata,
    blobs,
    metrics,
    openapi,
    publicUrl: config.publicUrl,
    minFreeSpace: config.minFreeSpace,
  });
  await app.register(async (api) => {
    // JSON routes: small bodies, JSON only (text/plain → 415).
    api.addHook('onRoute', (route) => {
      route.bodyLimit ??= JSON_BODY_LIMIT;
    });
    api.removeContentTypeParser('text/plain');
    // A JSON body must arrive within BODY_TIMEOUT (docs/OPERATIONS.md "Timeouts").
    api.addHook(
      'preParsing',
      bodyTimeoutHook(config.http.bodyTimeoutSec * 1000, (request) =>
        request.log.warn(
          { route: request.routeOptions.url, ip: request.ip },
          'request body not received within BODY_TIMEOUT; connection closed',
        ),
      ),
    );
    await api.register(authRoutes, {
      auth,
      authPerMinute: config.rateLimit.authPerMinute,
      badTokens,
    });
    await api.register(backupRoutes, {
      prefix: '/v0/backup',
      auth,
      backups,
      userPerMinute: config.rateLimit.userPerMinute,
      badTokens,
    });
    await api.register(pushRoutes, {
      prefix: '/v0/push',
      auth,
      push: push.service,
      userPerMinute: config.rateLimit.userPerMinute,
      badTokens,
    });
    if (noah)
      await api.register(noahRoutes, {
        authenticate: noahAuthenticator({ config: noah.config, metadata, clock }),
        backups,
        push: push.service,
        metadata,
        relay: noah.signer,
        random,
        userPerMinute: config.rateLimit.userPerMinute,
        badTokens,
      });
  });
  // Noah's app PUTs its backup through this server (src/compat/noah/relay.ts).
  if (noah)
    await app.register(noahRelayRoutes, {
      signer: noah.signer,
      backups,
      metadata,
      blobs,
      maxBackupSize: config.maxBackupSize,
      perMinute: config.rateLimit.blobPerMinute,
    });
  // The fs blob store serves its own signed PUT/GET URLs, limited per client address
  // before anything is read (docs/API.md "Limits").
  const blobRoutes = blobs.routes;
  if (blobRoutes)
    await app.register(async (scope) => {
      const limit = rateLimitHook(scope, {
        perMinute: config.rateLimit.blobPerMinute,
        key: (req) => authLimitKey(req.ip),
      });
      if (limit) scope.addHook('onRequest', limit);
      await scope.register(blobRoutes);
    });
  // The web app (packages/web/dist) at `/`, last: its SPA fallback hands API paths back
  // to the JSON 404.
  if (deps.webUi !== false)
    await app.register(webUiRoutes, {
      publicUrl: config.publicUrl,
      ...(typeof deps.webUi === 'object' ? deps.webUi : {}),
    });

  if (config.sweepIntervalSec > 0) {
    const sweeper = startSweeper(
      {
        metadata,
        blobs,
        clock,
        logger,
        metrics,
        holder: randomUUID(),
        orphanMinAgeSec: config.orphanMinAgeSec,
        uploadUrlTtlSec: config.uploadUrlTtlSec,
        inFlightGraceSec: config.http.requestTimeoutSec,
      },
      config.sweepIntervalSec,
    );
    app.addHook('onClose', async () => sweeper.stop());
  }

  if (config.scrubPeriodDays > 0) {
    const scrubber = startScrubber(
      { metadata, blobs, clock, logger, metrics, holder: randomUUID() },
      config.scrubPeriodDays,
    );
    app.addHook('onClose', async () => scrubber.stop());
  }

  if (config.push.cron !== null) push.scheduler.start();
  app.addHook('onClose', async () => push.scheduler.stop());

  await app.ready();
  return app;
}
