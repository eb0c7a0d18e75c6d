/**
 * The receipts pass (docs/PUSH.md §5): Expo answers a send with tickets and, once Apple
 * or Google have answered it (usually quickly, up to ~30 minutes under load), with
 * receipts that it keeps for about a day (docs/PUSH.md §9). This pass reads the
 * receipts of tickets older than PUSH_RECEIPT_DELAY, prunes tokens whose receipt says
 * `DeviceNotRegistered`, and forgets tickets that got a receipt or are too old to get
 * one. It runs on one instance at a time (lease `push-receipts`).
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { MetadataStore } from '../stores/metadata.ts';
import type { PushStore } from '../stores/push.ts';
import type { PushLogger } from './job-types.ts';
import type { PushMetrics } from './metrics.ts';
import { EXPO_RECEIPTS_LIMIT } from './expo.ts';
import type { PushSender } from './sender.ts';

/** Expo keeps receipts about a day; older tickets will never get one. */
export const RECEIPT_MAX_AGE_MS = 24 * 3_600_000;

/** What a receipts pass did. */
export interface ReceiptsResult {
  status: 'done' | 'lease_held' | 'unavailable';
  checked: number;
  ok: number;
  /** Tokens pruned because their receipt said DeviceNotRegistered. */
  pruned: number;
  failed: number;
  /** Tickets dropped without a receipt after {@link RECEIPT_MAX_AGE_MS}. */
  expired: number;
  /** Tickets whose receipt is not ready yet (kept for the next pass). */
  pending: number;
}

/**
 * Reads the receipts of due tickets once.
 *
 * @param deps - the store, the Expo sender (null: nothing to do), clock, delay
 * @returns counts; `unavailable` when Expo could not be reached (the next pass retries)
 * @throws when the store fails
 * @example
 * ```ts
 * await collectReceipts({ store, expo, clock, holder, delayMs: 15 * 60_000 });
 * ```
 */
export async function collectReceipts(deps: {
  store: PushStore & Pick<MetadataStore, 'tryAcquireLease' | 'releaseLease'>;
  expo: PushSender | null;
  clock: Clock;
  holder: string;
  delayMs: number;
  logger?: PushLogger;
  metrics?: PushMetrics;
  batch?: number;
}): Promise<ReceiptsResult> {
  const { store, expo, clock, metrics } = deps;
  const r: ReceiptsResult = {
    status: 'done',
    checked: 0,
    ok: 0,
    pruned: 0,
    failed: 0,
    expired: 0,
    pending: 0,
  };
  if (!expo?.readReceipts) return r;
  const name = 'push-receipts';
  if (!(await store.tryAcquireLease(name, deps.holder, clock.now(), 5 * 60_000)))
    return { ...r, status: 'lease_held' };
  try {
    const now = clock.now();
    const dueBefore = new Date(now.getTime() - deps.delayMs);
    let after: { createdAt: Date; ticketId: string } | null = null;
    for (;;) {
      const tickets = await store.listTickets(dueBefore, after, deps.batch ?? EXPO_RECEIPTS_LIMIT);
      if (tickets.length === 0) break;
      const last = tickets[tickets.length - 1]!;
      after = { createdAt: last.createdAt, ticketId: last.ticketId };
      let receipts: Awaited<ReturnType<NonNullable<PushSender['readReceipts']>>>;
      try {
        receipts = await expo.readReceipts(tickets.map((t) => t.ticketId));
      } catch (err) {
        deps.logger?.warn({ err }, 'Expo receipts unavailable; the next pass retries');
        return { ...r, status: 'unavailable' };
      }
      const done: string[] = [];
      const dead: string[] = [];
      for (const t of tickets) {
        r.checked++;
        const receipt = receipts.get(t.ticketId);
        if (!receipt) {
          if (now.getTime() - t.createdAt.getTime() < RECEIPT_MAX_AGE_MS) r.pending++;
          else {
            r.expired++;
            metrics?.receipts.inc({ result: 'expired' });
            done.push(t.ticketId);
          }
          continue;
        }
        metrics?.receipts.inc({ result: receipt.status });
        done.push(t.ticketId);
        if (receipt.status === 'ok') r.ok++;
        else if (receipt.status === 'dead') dead.push(t.address);
        else r.failed++;
      }
      if (dead.length > 0) {
        const n = await store.pruneAddresses(dead);
        r.pruned += n;
        metrics?.pruned.inc({ provider: 'expo', source: 'receipt' }, n);
      }
      await store.deleteTickets(done);
    }
    if (r.checked > 0) deps.logger?.info({ receipts: r }, 'push receipts read');
    return r;
  } finally {
    await store.releaseLease(name, deps.holder).catch(() => {});
  }
}
