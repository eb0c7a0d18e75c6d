/**
 * Start-up wiring (docs/OPERATIONS.md "Running it"): configuration → stores → app →
 * listen, and a bounded graceful stop: stop accepting, let requests in flight finish for
 * up to SHUTDOWN_TIMEOUT, then close the connections still open (a download a slow client
 * is still reading would otherwise hold the stop until it ends), and close the stores
 * last.
 * `noah-backup serve` and `npm start` call {@link startServer}.
 * @module
 */
import { type Clock, systemClock } from '@noah-backup/core/clock';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildServer } from './app.ts';
import { createBlobStore } from './blob/index.ts';
import { loadOrCreateSigningSecret } from './blob/signing-key.ts';
import type { ServerConfig } from './config.ts';
import { ensurePrivateDir } from './local-files.ts';
import { createLogger } from './logging.ts';
import { createMetadataStore, redactDatabaseUrl } from './metadata/index.ts';
import { formatRollout } from './rollout.ts';
import type { BlobStore } from './stores/blob.ts';
import type { MetadataStore } from './stores/metadata.ts';

/** A running server. */
export interface RunningServer {
  /** The URL it listens on (the bound address, not PUBLIC_URL). */
  url: string;
  app: FastifyInstance;
  metadata: MetadataStore;
  blobs: BlobStore;
  logger: Logger;
  /**
   * Stops accepting, lets requests in flight finish for up to `shutdownTimeoutSec`, then
   * closes every connection still open; closes the stores last. Idempotent.
   */
  close(): Promise<void>;
}

/** While closing, connections whose request finished are closed this often. */
const REAP_INTERVAL_MS = 100;

/**
 * Closes the app: no new connections, idle keep-alive connections closed at once,
 * requests on the others answered until `timeoutMs`, each connection closed as soon as
 * its request is done (Node would keep it open for the keep-alive timeout, and the stop
 * with it); then every remaining connection is closed (its client sees a cut transfer
 * and retries or resumes, as after any network failure). Resolves when the app's close
 * hooks have run.
 *
 * @param app - a listening Fastify app
 * @param timeoutMs - how long requests in flight may take
 * @param logger - told when connections had to be cut
 */
export async function closeWithin(
  app: FastifyInstance,
  timeoutMs: number,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const reap = setInterval(() => app.server.closeIdleConnections(), REAP_INTERVAL_MS);
  const cut = setTimeout(() => {
    logger.warn({ timeoutMs }, 'requests still in flight at the shutdown deadline; closing them');
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await app.close();
  } finally {
    clearInterval(reap);
    clearTimeout(cut);
  }
}

/**
 * Opens the stores named by the configuration, builds the app and listens.
 *
 * @param config - validated configuration (src/config.ts)
 * @param opts.clock - default: the system clock
 * @param opts.logger - default: JSON on stdout at `config.logLevel`
 * @returns the running server
 * @throws when a store cannot be opened or the port cannot be bound (stores opened so
 *   far are closed first)
 * @example
 * ```ts
 * const server = await startServer(loadConfig(process.env));
 * process.once('SIGTERM', () => server.close());
 * ```
 */
export async function startServer(
  config: ServerConfig,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  // The data directory holds the database, the signing key and the fs store's objects.
  ensurePrivateDir(config.dataDir);
  const metadata = await createMetadataStore(config.databaseUrl, {
    logger,
    ...(config.databaseAuthToken ? { authToken: config.databaseAuthToken } : {}),
  });
  let blobs: BlobStore | undefined;
  let app: FastifyInstance | undefined;
  try {
    blobs = await createBlobStore(config.blobStoreUrl, {
      publicUrl: config.publicUrl,
      clock,
      maxObjectSize: config.maxBackupSize,
      logger,
      defaultRegion: config.s3DefaultRegion,
      signingSecret: () =>
        new TextEncoder().encode(
          loadOrCreateSigningSecret(config.dataDir, config.blobSigningSecret),
        ),
    });
    app = await buildServer({ config, metadata, blobs, clock, logger });
    const address = await app.listen({ port: config.port, host: config.host });
    logger.info(
      {
        address,
        publicUrl: config.publicUrl,
        metadata: metadata.kind,
        database: redactDatabaseUrl(config.databaseUrl),
        blobs: blobs.kind,
        rollout: formatRollout(config.rollout),
      },
      'noah backup server listening',
    );
    let closing: Promise<void> | undefined;
    const server = { app, blobs };
    return {
      url: address,
      app,
      metadata,
      blobs,
      logger,
      close() {
        closing ??= (async () => {
          await closeWithin(server.app, config.shutdownTimeoutSec * 1000, logger);
          await server.blobs.close?.();
          await metadata.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await blobs?.close?.().catch(() => {});
    await metadata.close().catch(() => {});
    throw err;
  }
}
