/**
 * One day's trigger job (issue 5 item 3; DESIGN.md "Daily trigger"), a standalone
 * function over the store, the senders and the clock:
 * 1. take the lease `backup-trigger:<day>` (exactly one instance runs a day's job; the
 *    lease is renewed while it runs, and taken over after expiry when its holder dies);
 * 2. read the users to trigger in keyset pages (memory independent of the user count):
 *    backups enabled, a device, no completed backup within BACKUP_STALE_AFTER, no
 *    trigger yet that day, and allowed by the rollout;
 * 3. per page, claim the users by inserting their `(user, day)` trigger rows before
 *    sending anything: the insert is the dedupe, so two instances, a takeover or a
 *    restart can never trigger a user twice in a day;
 * 4. send to each claimed user's devices in provider-sized batches, paced by PUSH_RATE
 *    and BACKUP_SPREAD, retrying transient failures with exponential backoff;
 * 5. prune dead addresses, keep Expo tickets for the receipts pass, record the result.
 *
 * Delivery is at most once per user and day at the trigger level. A crash between a
 * claim and its send loses that page's triggers for the day (the next holder skips
 * claimed users); a transport retry after an ambiguous failure (a timeout) may deliver
 * one message twice, which the client absorbs (it skips when it backed up today).
 * @module
 */
import type { BackupTriggerPayload, PushProvider } from '@noah-backup/core/api';
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import { type Rollout, rolloutAllows } from '../rollout.ts';
import type { MetadataStore } from '../stores/metadata.ts';
import type { DeviceRow, PushStore, TicketRow } from '../stores/push.ts';
import type { PushMetrics } from './metrics.ts';
import {
  backoffMs,
  createLeaseKeeper,
  createPacer,
  type LeaseKeeper,
  type Pacer,
  paceInterval,
  realSleep,
  type Sleep,
} from './pace.ts';
import { mapLimit, type PushSender, type SendResult, type SenderSet } from './sender.ts';

/** The logger a job writes to (a pino logger fits). */
export interface PushLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What a job needs. */
export interface TriggerJobDeps {
  store: PushStore & Pick<MetadataStore, 'tryAcquireLease' | 'releaseLease'>;
  senders: SenderSet;
  clock: Clock;
  /** Notification ids. */
  random: RandomBytes;
  /** Default: real time. */
  sleep?: Sleep;
  logger?: PushLogger;
  metrics?: PushMetrics;
  rollout: Rollout;
  /** This instance's lease holder id. */
  holder: string;
  staleAfterSec: number;
  spreadSec: number;
  /** Messages per second at most; 0 = no cap. */
  rate: number;
  /** Users per page (default 1,000). */
  pageSize?: number;
  /** Lease lifetime without renewal (default 60 s). */
  leaseTtlMs?: number;
  /** Retries of transient failures (default 3, from 1 s, at most 30 s). */
  retry?: { attempts: number; baseMs: number; maxMs: number };
  /** Stops the job after the page in flight (server shutdown). */
  signal?: AbortSignal;
}

/** What a job did. */
export interface TriggerJobResult {
  day: string;
  /**
   * `done`: every candidate was handled; `lease_held`: another instance runs this day's
   * job; `lease_lost`: another instance took the lease over mid-run; `aborted`: stopped.
   */
  status: 'done' | 'lease_held' | 'lease_lost' | 'aborted';
  /** Users to trigger when the job started (before the rollout). */
  candidates: number;
  /** Users the rollout left out. */
  skippedRollout: number;
  /** Candidates another instance claimed first. */
  claimedElsewhere: number;
  /** Users triggered: a sender accepted at least one message. */
  triggered: number;
  /** Users claimed whose every message failed (or who had no device left). */
  failed: number;
  /** Messages accepted, by sender (`expo`, `unifiedpush`, `log`). */
  sent: Record<string, number>;
  /** Messages given up on (failed, dead, or still transient after the retries). */
  messageFailures: number;
  /** Dead addresses removed. */
  pruned: number;
  /** Messages sent again after a transient failure. */
  retries: number;
  startedAt: Date;
  finishedAt: Date;
}

/** The lease that makes one instance run a day's job. */
export function triggerLeaseName(day: string): string {
  return `backup-trigger:${day}`;
}

/** A time's UTC day, `YYYY-MM-DD`. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

interface Outgoing {
  userId: string;
  device: DeviceRow;
  sender: PushSender;
}

/** Sends every outgoing message, retrying transient failures; one result per message. */
async function deliver(
  out: readonly Outgoing[],
  payloadOf: (userId: string) => BackupTriggerPayload,
  ctx: { pacer: Pacer; keeper: LeaseKeeper; retry: NonNullable<TriggerJobDeps['retry']> },
  counts: { retries: number },
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
    counts.retries += again.length;
    pending = again;
  }
}

/**
 * Runs (or resumes) the trigger job of `day`.
 *
 * @param deps - store, senders, clock, randomness, rollout and the scheduler settings
 * @param day - the UTC day `YYYY-MM-DD` whose triggers to send
 * @returns what the job did; `lease_held` when another instance runs it
 * @throws when the store fails (the lease is released; the next run resumes)
 * @example
 * ```ts
 * const r = await runTriggerJob(deps, utcDay(clock.now()));
 * console.log(`${r.triggered} users triggered`);
 * ```
 */
export async function runTriggerJob(deps: TriggerJobDeps, day: string): Promise<TriggerJobResult> {
  const { store, clock, logger, metrics } = deps;
  const sleep = deps.sleep ?? realSleep;
  const ttlMs = deps.leaseTtlMs ?? 60_000;
  const pageSize = deps.pageSize ?? 1000;
  const retry = deps.retry ?? { attempts: 3, baseMs: 1000, maxMs: 30_000 };
  const lease = triggerLeaseName(day);
  const startedAt = clock.now();
  const result: TriggerJobResult = {
    day,
    status: 'done',
    candidates: 0,
    skippedRollout: 0,
    claimedElsewhere: 0,
    triggered: 0,
    failed: 0,
    sent: {},
    messageFailures: 0,
    pruned: 0,
    retries: 0,
    startedAt,
    finishedAt: startedAt,
  };
  const finish = (status: TriggerJobResult['status']) => {
    result.status = status;
    result.finishedAt = clock.now();
    metrics?.jobs.inc({ status });
    logger?.info({ job: { ...result, holder: deps.holder } }, 'backup trigger job');
    return result;
  };

  if (!(await store.tryAcquireLease(lease, deps.holder, startedAt, ttlMs)))
    return finish('lease_held');
  const keeper = createLeaseKeeper({
    store,
    name: lease,
    holder: deps.holder,
    clock,
    ttlMs,
    sleep,
  });
  try {
    await store.startPushJob(day, deps.holder, startedAt);
    // Fixed at the start, so the candidate set does not drift while the job runs.
    const staleBefore = new Date(startedAt.getTime() - deps.staleAfterSec * 1000);
    result.candidates =
      deps.rollout.mode === 'off' ? 0 : await store.countTriggerCandidates({ day, staleBefore });
    const pacer = createPacer(
      clock,
      paceInterval(deps.rate, deps.spreadSec, result.candidates),
      (ms) => keeper.sleep(ms),
    );
    const hex = (n: number) => Buffer.from(deps.random(n)).toString('hex');
    let afterId: string | null = null;

    while (deps.rollout.mode !== 'off') {
      if (deps.signal?.aborted) return finish('aborted');
      if (!(await keeper.renewIfDue())) return finish('lease_lost');
      const page = await store.listTriggerCandidates({
        day,
        staleBefore,
        afterId,
        limit: pageSize,
      });
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;

      const eligible = page.filter((u) => rolloutAllows(deps.rollout, u.pubkey));
      result.skippedRollout += page.length - eligible.length;
      if (eligible.length === 0) continue;
      const ids = new Map(eligible.map((u) => [u.id, hex(16)]));
      const claimed = await store.claimTriggers(
        day,
        eligible.map((u) => ({ userId: u.id, notificationId: ids.get(u.id)! })),
        clock.now(),
      );
      result.claimedElsewhere += eligible.length - claimed.length;
      if (claimed.length === 0) continue;

      // From here on these users are ours for the day, lease or not: finish the page.
      const devices = await store.listDevicesOfUsers(claimed);
      const out: Outgoing[] = devices.map((device) => ({
        userId: device.userId,
        device,
        sender: deps.senders.forProvider(device.provider),
      }));
      const payloadOf = (userId: string): BackupTriggerPayload => ({
        type: 'backup_trigger',
        notification_id: ids.get(userId)!,
      });
      const results = await deliver(out, payloadOf, { pacer, keeper, retry }, result);

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
      const settled = claimed.map((userId) => {
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
      if (keeper.lost) return finish('lease_lost');
    }
    await store.finishPushJob(day, clock.now());
    return finish('done');
  } catch (err) {
    metrics?.jobs.inc({ status: 'error' });
    logger?.warn({ err, day }, 'backup trigger job failed; the next run resumes it');
    throw err;
  } finally {
    if (!keeper.lost) await store.releaseLease(lease, deps.holder).catch(() => {});
  }
}
