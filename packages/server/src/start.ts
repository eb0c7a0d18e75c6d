/**
 * Start-up wiring (issue 3 item 1): configuration → stores → app → listen, and a
 * graceful stop (close the server, waiting for requests in flight, then the stores).
 * `noah-backup serve` and `npm start` call {@link startServer}.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildServer } from './app.ts';
import { createBlobStore } from './blob/index.ts';
import { type ServerConfig, loadOrCreateSigningSecret } from './config.ts';
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
  /** Stops accepting, finishes requests in flight, closes the stores. Idempotent. */
  close(): Promise<void>;
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
  mkdirSync(config.dataDir, { recursive: true });
  const metadata = await createMetadataStore(config.databaseUrl, { logger });
  let blobs: BlobStore | undefined;
  let app: FastifyInstance | undefined;
  try {
    const isFs = config.blobStoreUrl.startsWith('file:');
    blobs = await createBlobStore(config.blobStoreUrl, {
      publicUrl: config.publicUrl,
      clock,
      maxObjectSize: config.maxBackupSize,
      logger,
      ...(isFs
        ? { signingSecret: new TextEncoder().encode(loadOrCreateSigningSecret(config)) }
        : {}),
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
          await server.app.close();
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
