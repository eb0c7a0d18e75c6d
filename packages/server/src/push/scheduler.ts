/**
 * The daily trigger scheduler (docs/PUSH.md §5): fires the trigger job at BACKUP_CRON
 * (UTC, croner) and the receipts pass every PUSH_RECEIPT_DELAY, on every instance; the
 * job's lease makes exactly one of them send. Time comes from the injected clock: a
 * real timer only wakes the scheduler every `pollMs` to look at the clock, so a manual
 * clock drives it in tests (`tick()` after `advance`).
 *
 * A day stays due until its job is recorded finished: an instance whose cron fired
 * while another held the lease keeps trying on every tick, and so takes the job over
 * when the holder dies and its lease expires. On start, the day of the last cron fire
 * is due again if it is today and unfinished (a restart mid-run resumes it).
 * @module
 */
import { Cron } from 'croner';
import { collectReceipts, type ReceiptsResult } from './receipts.ts';
import { addDays, utcDay } from './day.ts';
import { runTriggerJob } from './job.ts';
import type { TriggerJobDeps, TriggerJobResult } from './job-types.ts';

/** A due day is given up this long after its cron fire time. */
const DUE_FOR_MS = 24 * 3_600_000;
/** Trigger rows are kept this many days (the dedupe needs today's, reports come within a day or so). */
export const TRIGGER_RETENTION_DAYS = 3;

/** What the scheduler needs beyond a job's dependencies. */
export interface SchedulerDeps extends Omit<TriggerJobDeps, 'signal'> {
  /** BACKUP_CRON; null = no timer (`runNow` still works). */
  cron: string | null;
  /** Read receipts of tickets this old (PUSH_RECEIPT_DELAY). */
  receiptDelayMs: number;
  /** Real-time period of the wake-up timer (default 30 s). */
  pollMs?: number;
}

/** The scheduler. */
export interface TriggerScheduler {
  /** Starts the wake-up timer (unref'd: it never keeps the process alive). */
  start(): void;
  /** Stops the timer and waits for a running tick; an unfinished job stays resumable. */
  stop(): Promise<void>;
  /** Looks at the clock once: runs due jobs and a due receipts pass. */
  tick(): Promise<{ jobs: TriggerJobResult[]; receipts: ReceiptsResult | null }>;
  /** Runs today's job now (`noah-backup admin trigger-backups --now`). */
  runNow(): Promise<TriggerJobResult>;
  /** Runs a receipts pass now. */
  collectReceipts(): Promise<ReceiptsResult>;
  /** The next cron fire time, or null without a cron. */
  nextRunAt(): Date | null;
  /** Days whose job is due and not yet seen finished. */
  dueDays(): string[];
}

/**
 * Creates the scheduler.
 *
 * @param deps - the job's dependencies, the cron expression and the receipt delay
 * @returns the scheduler (not started)
 * @example
 * ```ts
 * const scheduler = createTriggerScheduler({ ...jobDeps, cron: '0 3 * * *', receiptDelayMs: 900_000 });
 * scheduler.start();
 * ```
 */
export function createTriggerScheduler(deps: SchedulerDeps): TriggerScheduler {
  const { clock, store } = deps;
  const cron = deps.cron === null ? null : new Cron(deps.cron, { timezone: 'UTC', paused: true });
  const aborter = new AbortController();
  const jobDeps: TriggerJobDeps = { ...deps, signal: aborter.signal };
  /** Due days and their cron fire times. */
  const due = new Map<string, number>();
  let nextRun: Date | null = null;
  let nextReceiptsAt = clock.now().getTime() + deps.receiptDelayMs;
  let timer: ReturnType<typeof setInterval> | null = null;
  let running: Promise<unknown> | null = null;
  let prunedBefore: string | null = null;

  /** Once a day (per instance, one instance at a time): drop old trigger rows. */
  const prune = async (now: Date) => {
    const before = addDays(utcDay(now), -TRIGGER_RETENTION_DAYS);
    if (prunedBefore === before) return;
    const lease = `push-prune:${before}`;
    if (await store.tryAcquireLease(lease, deps.holder, now, 10 * 60_000)) {
      const n = await store.pruneTriggers(before);
      if (n > 0) deps.logger?.info({ before, rows: n }, 'old trigger rows pruned');
    }
    prunedBefore = before;
  };

  const init = () => {
    if (!cron || nextRun) return;
    const now = clock.now();
    nextRun = cron.nextRun(now);
    const prev = cron.previousRuns(1, now)[0];
    if (prev && utcDay(prev) === utcDay(now)) due.set(utcDay(prev), prev.getTime());
  };
  init();

  const receipts = () =>
    collectReceipts({
      store,
      expo: deps.senders.expo,
      clock,
      holder: deps.holder,
      delayMs: deps.receiptDelayMs,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });

  const tick = async () => {
    const now = clock.now();
    if (cron && nextRun && now >= nextRun) {
      due.set(utcDay(nextRun), nextRun.getTime());
      nextRun = cron.nextRun(now);
    }
    const jobs: TriggerJobResult[] = [];
    for (const [day, firedAt] of [...due]) {
      if (aborter.signal.aborted) break;
      if (now.getTime() - firedAt > DUE_FOR_MS || (await store.getPushJob(day))?.finishedAt) {
        due.delete(day);
        continue;
      }
      const r = await runTriggerJob(jobDeps, day);
      jobs.push(r);
      if (r.status === 'done') due.delete(day);
    }
    if (!aborter.signal.aborted) await prune(now);
    let receiptsResult: ReceiptsResult | null = null;
    if (!aborter.signal.aborted && now.getTime() >= nextReceiptsAt) {
      nextReceiptsAt = now.getTime() + deps.receiptDelayMs;
      receiptsResult = await receipts();
    }
    return { jobs, receipts: receiptsResult };
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = tick()
          .catch((err: unknown) => deps.logger?.warn({ err }, 'trigger scheduler tick failed'))
          .finally(() => {
            running = null;
          });
      }, deps.pollMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      aborter.abort();
      await running;
    },
    tick,
    runNow: () => runTriggerJob(jobDeps, utcDay(clock.now())),
    collectReceipts: receipts,
    nextRunAt: () => nextRun,
    dueDays: () => [...due.keys()],
  };
}
