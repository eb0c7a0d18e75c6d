/**
 * The PushSender seam (docs/PUSH.md §4, PUSH_PROVIDERS): `expo` (expo.ts), `unifiedpush`
 * (unifiedpush.ts) and `log` (log.ts, the embedded default). A sender takes a batch of
 * messages and answers one result per message, in order; it never throws for a
 * delivery failure, it classifies it. The scheduler decides what to do with each class:
 * `ok` counts (and an Expo ticket is kept for its receipt), `dead` prunes the address,
 * `retry` is sent again with backoff, `failed` is given up.
 * @module
 */
import type { BackupTriggerPayload, PushProvider } from '@noah-backup/core/api';
import type { PushKeys } from '../stores/push.ts';

/** One message: the silent daily trigger to one device. */
export interface PushMessage {
  /** Expo push token or UnifiedPush endpoint URL (a secret: never log it in full). */
  address: string;
  /** A UnifiedPush device's Web Push keys: sent encrypted (RFC 8291); absent: plain. */
  keys?: PushKeys | null;
  payload: BackupTriggerPayload;
}

/** What became of one message. */
export type SendResult =
  /** Accepted; Expo answers a ticket id whose receipt is read later. */
  | { status: 'ok'; ticketId?: string }
  /** The address is gone for good (Expo DeviceNotRegistered, UnifiedPush 404/410). */
  | { status: 'dead'; reason: string }
  /** Transient (network, 5xx, 429, rate exceeded): try again later. */
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  /** Refused for another reason; not retried. */
  | { status: 'failed'; reason: string };

/** An Expo receipt (absent from the answer = not ready yet). */
export type ReceiptResult =
  | { status: 'ok' }
  | { status: 'dead'; reason: string }
  | { status: 'failed'; reason: string };

/** A push sender. */
export interface PushSender {
  /** `expo`, `unifiedpush` or `log`. */
  readonly name: 'expo' | 'unifiedpush' | 'log';
  /** Most messages one {@link send} call takes (Expo: 100). */
  readonly maxBatch: number;
  /** How many {@link send} calls may run at once. */
  readonly concurrency: number;
  /**
   * Sends a batch.
   * @returns one result per message, in order
   * @throws only for a programming error (a batch larger than `maxBatch`)
   */
  send(messages: readonly PushMessage[]): Promise<SendResult[]>;
  /**
   * Reads receipts of earlier tickets (Expo only).
   * @returns the receipts that are ready, by ticket id
   * @throws when the receipts service cannot be reached (try again later)
   */
  readReceipts?(ticketIds: readonly string[]): Promise<Map<string, ReceiptResult>>;
}

/** The senders of one server: one per provider a device may register, plus the log sender. */
export interface SenderSet {
  /** The sender for a device's provider (the log sender when the provider is not enabled). */
  forProvider(provider: PushProvider): PushSender;
  /** The Expo sender when Expo is enabled (receipts), else null. */
  readonly expo: PushSender | null;
}

/**
 * Builds a sender set: devices of an enabled provider go to its sender, all others to
 * the log sender (PUSH_PROVIDERS, docs/PUSH.md "Configuration").
 *
 * @param enabled - the delivering senders by provider
 * @param log - the fallback sender
 * @returns the set
 * @example
 * ```ts
 * const senders = createSenderSet({ expo: createExpoSender({ baseUrl }) }, createLogSender(logger));
 * ```
 */
export function createSenderSet(
  enabled: Partial<Record<PushProvider, PushSender>>,
  log: PushSender,
): SenderSet {
  return {
    forProvider: (provider) => enabled[provider] ?? log,
    expo: enabled.expo ?? null,
  };
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping result order.
 *
 * @param items - inputs
 * @param limit - most concurrent calls (≥ 1)
 * @param fn - the work
 * @returns the results, in input order
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
