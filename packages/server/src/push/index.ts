/**
 * Wiring of the daily trigger (docs/PUSH.md): the senders PUSH_PROVIDERS enables, the push
 * service behind the routes, the metrics and the scheduler, from the server's
 * configuration. The app (src/app.ts) and `noah-backup admin` (push/admin.ts) build it
 * the same way.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServerConfig } from '../config.ts';
import { createPushService, type PushService } from '../services/push.ts';
import type { MetadataStore } from '../stores/metadata.ts';
import type { PushConfig } from '../config/push.ts';
import { createExpoSender } from './expo.ts';
import { createLogSender } from './log.ts';
import { createPushMetrics, type PushMetrics } from './metrics.ts';
import type { Sleep } from './pace.ts';
import { createTriggerScheduler, type TriggerScheduler } from './scheduler.ts';
import { createSenderSet, type PushSender, type SenderSet } from './sender.ts';
import { createUnifiedPushSender } from './unifiedpush.ts';
import { loadOrCreateVapidKeys, type VapidKeys } from './vapid.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The daily trigger's parts (push/index.ts), for tests and operations. */
    noahPush: PushRuntime;
  }
}

/** The daily trigger's parts. */
export interface PushRuntime {
  senders: SenderSet;
  service: PushService;
  metrics: PushMetrics;
  scheduler: TriggerScheduler;
  /** This instance's lease holder id. */
  holder: string;
  /** The VAPID identity when UnifiedPush is enabled (push/vapid.ts), else null. */
  vapid: VapidKeys | null;
}

/**
 * Builds the senders a configuration enables; every other provider goes to the log
 * sender.
 *
 * @param config - the push settings
 * @param deps - clock, logger, and the VAPID identity for Web Push devices
 * @returns the sender set
 */
export function createSenders(
  config: PushConfig,
  deps: { clock: Clock; logger: Logger; vapid?: VapidKeys | null },
): SenderSet {
  const enabled: Partial<Record<'expo' | 'unifiedpush', PushSender>> = {};
  if (config.providers.includes('expo'))
    enabled.expo = createExpoSender({
      baseUrl: config.expoPushUrl,
      accessToken: config.expoAccessToken,
      clock: deps.clock,
    });
  if (config.providers.includes('unifiedpush'))
    enabled.unifiedpush = createUnifiedPushSender({
      clock: deps.clock,
      bearerByOrigin: config.unifiedPushBearer,
      allowAddresses: config.unifiedPushAllowAddresses,
      vapid: deps.vapid ?? null,
    });
  return createSenderSet(enabled, createLogSender(deps.logger));
}

/**
 * Creates the daily trigger's parts (the scheduler is not started).
 *
 * @param deps - configuration, store, clock, randomness, logger and metrics registry;
 *   optionally the holder id and the job's sleep (tests)
 * @returns the runtime
 * @example
 * ```ts
 * const push = createPushRuntime({ config, store, clock, random, logger, registry });
 * if (config.push.cron) push.scheduler.start();
 * ```
 */
export function createPushRuntime(deps: {
  config: ServerConfig;
  store: MetadataStore;
  clock: Clock;
  random: RandomBytes;
  logger: Logger;
  registry: Registry;
  holder?: string;
  sleep?: Sleep;
}): PushRuntime {
  const { config, store, clock, logger } = deps;
  const push = config.push;
  const holder = deps.holder ?? randomUUID();
  // Read (or generated) once: every Web Push request of this process signs with it.
  const vapid = push.providers.includes('unifiedpush')
    ? loadOrCreateVapidKeys({
        dataDir: config.dataDir,
        privateKey: push.vapidPrivateKey,
        // parsePushConfig refuses UnifiedPush without a subject.
        subject: push.vapidSubject ?? '',
      })
    : null;
  const senders = createSenders(push, { clock, logger, vapid });
  const metrics = createPushMetrics(deps.registry, {
    store,
    clock,
    staleAfterSec: push.staleAfterSec,
  });
  const service = createPushService({
    store,
    clock,
    logger,
    metrics,
    allowHttpEndpoints: push.unifiedPushAllowHttp,
    allowAddresses: push.unifiedPushAllowAddresses,
    maxDevicesPerUser: push.maxDevicesPerUser,
    vapidPublicKey: vapid?.publicKey ?? null,
  });
  const scheduler = createTriggerScheduler({
    store,
    senders,
    clock,
    random: deps.random,
    logger,
    metrics,
    rollout: config.rollout,
    // Noah's app reads the trigger by other names (docs/PUSH.md §1).
    noahPayload: config.noahCompat !== null,
    holder,
    staleAfterSec: push.staleAfterSec,
    spreadSec: push.spreadSec,
    rate: push.rate,
    cron: push.cron,
    receiptDelayMs: push.receiptDelaySec * 1000,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return { senders, service, metrics, scheduler, holder, vapid };
}
