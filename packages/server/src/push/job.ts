/**
 * One day's trigger job (docs/PUSH.md §5), a standalone
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
 * Pages are pipelined: the next page is read and claimed while up to two are being
 * sent and recorded (push/dispatch.ts), so the database and the senders work at once.
 *
 * Delivery is at most once per user and day at the trigger level. A crash between a
 * claim and its send loses those triggers for the day (at most three pages: the next
 * holder skips claimed users); a transport retry after an ambiguous failure (a timeout)
 * may deliver one message twice, which the client absorbs (it skips when it backed up
 * today).
 * @module
 */
import { sleep as wait } from '@noah-backup/core/wait';
import { rolloutAllows } from '../rollout.ts';
import { type Claimed, type DispatchContext, dispatchPage } from './dispatch.ts';
import type { TriggerJobDeps, TriggerJobResult } from './job-types.ts';
import { createLeaseKeeper, createPacer, paceInterval } from './pace.ts';

/** The lease that makes one instance run a day's job. */
export function triggerLeaseName(day: string): string {
  return `backup-trigger:${day}`;
}

/** Pages being sent or recorded at once (the next one is read and claimed meanwhile). */
const MAX_IN_FLIGHT = 2;

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
  const sleep =
    deps.sleep ??
    (async (ms: number) => {
      await wait(ms, deps.signal);
    });
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
    ...(deps.signal ? { signal: deps.signal } : {}),
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
    let afterId: string | null = null;

    /** Reads pages until one has users to claim; claims them and reads their devices. */
    const prepare = async (): Promise<Claimed | null> => {
      for (;;) {
        const page = await store.listTriggerCandidates({
          day,
          staleBefore,
          afterId,
          limit: pageSize,
        });
        if (page.length === 0) return null;
        afterId = page[page.length - 1]!.id;
        const eligible = page.filter((u) => rolloutAllows(deps.rollout, u.pubkey));
        result.skippedRollout += page.length - eligible.length;
        if (eligible.length === 0) continue;
        // One call for the page's notification ids (16 random bytes each, hex).
        const bytes = Buffer.from(deps.random(16 * eligible.length));
        const ids = new Map(
          eligible.map((u, i) => [u.id, bytes.toString('hex', 16 * i, 16 * i + 16)]),
        );
        const claimed = await store.claimTriggers(
          day,
          eligible.map((u) => ({ userId: u.id, notificationId: ids.get(u.id)! })),
          clock.now(),
        );
        result.claimedElsewhere += eligible.length - claimed.length;
        if (claimed.length === 0) continue;
        const mine = new Set(claimed);
        const devices = eligible
          .filter((u) => mine.has(u.id))
          .flatMap((u) =>
            u.devices.map((d) => ({
              userId: u.id,
              provider: d.provider,
              address: d.address,
              keys: d.keys,
            })),
          );
        return { claimed, ids, devices };
      }
    };
    const ctx: DispatchContext = { deps, day, pacer, keeper, retry, result };

    // A pipeline: the next page is read and claimed while the current one is sent, and
    // up to MAX_IN_FLIGHT pages are being sent or recorded at once.
    const inFlight = new Set<Promise<void>>();
    let next: Promise<Claimed | null> | null = prepare();
    let stop: 'aborted' | 'lease_lost' | null = null;
    try {
      while (next) {
        const current: Claimed | null = await next;
        next = null;
        if (current === null) break;
        if (deps.signal?.aborted) stop = 'aborted';
        else if (!(await keeper.renewIfDue())) stop = 'lease_lost';
        if (!stop) next = prepare();
        // Claimed users are ours for the day, lease or not: always send them.
        const sending: Promise<void> = dispatchPage(ctx, current).finally(() => {
          inFlight.delete(sending);
        });
        // Observed by the race or the final wait; this only keeps a rejection that
        // arrives meanwhile from counting as unhandled.
        sending.catch(() => {});
        inFlight.add(sending);
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } catch (err) {
      await Promise.allSettled([...inFlight, ...(next ? [next] : [])]);
      throw err;
    }
    if (stop) return finish(stop);
    if (keeper.lost) return finish('lease_lost');
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
