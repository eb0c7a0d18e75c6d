/**
 * The `log` push sender (docs/PUSH.md §4: the embedded default): sends nothing and
 * logs one line per message with the address redacted. Devices whose provider is not
 * in PUSH_PROVIDERS are handed to it, so a single-machine install shows in its log what
 * a configured one would send.
 * @module
 */
import type { PushSender } from './sender.ts';
import { redactAddress } from './redact.ts';

/** The logger the log sender writes to (a pino logger fits). */
export interface PushLogSink {
  info(obj: object, msg: string): void;
}

/**
 * Creates the log sender.
 *
 * @param logger - where the lines go
 * @returns a sender that accepts every message
 * @example
 * ```ts
 * const log = createLogSender(logger);
 * ```
 */
export function createLogSender(logger: PushLogSink): PushSender {
  return {
    name: 'log',
    maxBatch: 1000,
    concurrency: 1,
    async send(messages) {
      for (const m of messages)
        logger.info(
          { to: redactAddress(m.address), notificationId: m.payload.notification_id },
          'push (log sender): backup_trigger not sent, logged',
        );
      return messages.map(() => ({ status: 'ok' as const }));
    },
  };
}
