/**
 * Sending one claimed page of the trigger job (push/job.ts): every device of every
 * claimed user gets the trigger through its provider's sender, in provider-sized
 * batches, paced, with transient failures retried under exponential backoff; then the
 * outcome is recorded: Expo tickets kept for the receipts pass, dead addresses pruned,
 * each trigger settled `sent` or `failed`, the job's counts added.
 * @module
 */
import type { BackupTriggerPayload, PushProvider } from '@noah-backup/core/api';
import type { PushKeys, TicketRow } from '../stores/push.ts';
import type { TriggerJobDeps, TriggerJobResult } from './job-types.ts';
import { backoffMs, type LeaseKeeper, type Pacer } from './pace.ts';
import { mapLimit, type PushSender, type SendResult } from './sender.ts';

/** A device of a claimed user. */
export interface PageDevice {
  userId: string;
  provider: PushProvider;
  address: string;
  /** Web Push keys of a UnifiedPush device, or null. */
  keys: PushKeys | null;
}

/** A page whose users this job has claimed for the day. */
export interface Claimed {
  claimed: string[];
  /** Notification id by user id. */
  ids: Map<string, string>;
  devices: PageDevice[];
}

/** What sending a page needs from the running job. */
export interface DispatchContext {
  deps: TriggerJobDeps;
  day: string;
  pacer: Pacer;
  keeper: LeaseKeeper;
  retry: { attempts: number; baseMs: number; maxMs: number };
  /** The job's running totals, updated in place. */
  result: TriggerJobResult;
}

interface Outgoing {
  userId: string;
  device: PageDevice;
  sender: PushSender;
}

/** Sends every outgoing message, retrying transient failures; one result per message. */
async function deliver(
  out: readonly Outgoing[],
  payloadOf: (userId: string) => BackupTriggerPayload,
  ctx: DispatchContext,
): Promise<SendResult[]> {
  const results = new Array<SendResult>(out.length);
  let pending = out.map((_, i) => i);
  for (let attempt = 0; ; attempt++) {
    const bySender = new Map<PushSender, number[]>();
    for (const i of pending) {
      const s = out[i]!.sender;
      const list = bySender.get(s) ?? [];
      list.push(i);
      bySender.set(s, list);
    }
    await Promise.all(
      [...bySender].map(([sender, idx]) => {
        const batches: number[][] = [];
        for (let i = 0; i < idx.length; i += sender.maxBatch)
          batches.push(idx.slice(i, i + sender.maxBatch));
        return mapLimit(batches, sender.concurrency, async (batch) => {
          await ctx.pacer.take(batch.length);
          const res = await sender.send(
            batch.map((i) => ({
              address: out[i]!.device.address,
              keys: out[i]!.device.keys,
              payload: payloadOf(out[i]!.userId),
            })),
          );
          batch.forEach((i, k) => {
            results[i] = res[k] ?? { status: 'failed', reason: 'no_result' };
          });
        });
      }),
    );
    const again = pending.filter((i) => results[i]!.status === 'retry');
    if (again.length === 0 || attempt >= ctx.retry.attempts || ctx.keeper.lost) return results;
    let asked = 0;
    for (const i of again) {
      const r = results[i]!;
      if (r.status === 'retry' && r.retryAfterMs !== undefined)
        asked = Math.max(asked, r.retryAfterMs);
    }
    await ctx.keeper.sleep(backoffMs(attempt + 1, ctx.retry.baseMs, ctx.retry.maxMs, asked));
    ctx.result.retries += again.length;
    pending = again;
  }
}

/**
 * Sends a claimed page and records the outcome.
 *
 * @param ctx - the running job
 * @param page - the claimed users, their notification ids and devices
 * @throws when the store fails while recording
 */
export async function dispatchPage(ctx: DispatchContext, page: Claimed): Promise<void> {
  const { deps, day, result } = ctx;
  const { store, metrics, clock } = deps;
  const out: Outgoing[] = page.devices.map((device) => ({
    userId: device.userId,
    device,
    sender: deps.senders.forProvider(device.provider),
  }));
  const payloadOf = (userId: string): BackupTriggerPayload => {
    const id = page.ids.get(userId)!;
    return deps.noahPayload
      ? {
          type: 'backup_trigger',
          notification_id: id,
          notification_type: 'backup_trigger',
          notification_k1: id,
        }
      : { type: 'backup_trigger', notification_id: id };
  };
  const results = await deliver(out, payloadOf, ctx);

  const accepted = new Map<string, number>();
  const tickets: TicketRow[] = [];
  const dead: { address: string; provider: PushProvider }[] = [];
  const now = clock.now();
  results.forEach((r, i) => {
    const o = out[i]!;
    metrics?.messages.inc({ provider: o.sender.name, result: r.status });
    if (r.status === 'ok') {
      accepted.set(o.userId, (accepted.get(o.userId) ?? 0) + 1);
      result.sent[o.sender.name] = (result.sent[o.sender.name] ?? 0) + 1;
      if (r.ticketId)
        tickets.push({
          ticketId: r.ticketId,
          userId: o.userId,
          address: o.device.address,
          createdAt: now,
        });
      return;
    }
    result.messageFailures++;
    // Only a delivering sender's verdict prunes (never the log sender's).
    if (r.status === 'dead' && o.sender.name === o.device.provider)
      dead.push({ address: o.device.address, provider: o.device.provider });
  });
  if (tickets.length > 0) await store.saveTickets(tickets);
  let pruned = 0;
  if (dead.length > 0) {
    pruned = await store.pruneAddresses(dead.map((d) => d.address));
    for (const d of dead)
      metrics?.pruned.inc({
        provider: d.provider,
        source: d.provider === 'expo' ? 'ticket' : 'endpoint',
      });
  }
  const settled = page.claimed.map((userId) => {
    const messages = accepted.get(userId) ?? 0;
    return { userId, status: messages > 0 ? ('sent' as const) : ('failed' as const), messages };
  });
  await store.settleTriggers(day, settled);
  const triggered = settled.filter((s) => s.status === 'sent').length;
  const failed = settled.length - triggered;
  result.triggered += triggered;
  result.failed += failed;
  result.pruned += pruned;
  metrics?.triggers.inc({ result: 'sent' }, triggered);
  metrics?.triggers.inc({ result: 'failed' }, failed);
  await store.addPushJobCounts(day, { triggered, failed, pruned });
}
