/**
 * Metrics of the daily trigger (docs/PUSH.md §6), on the server's registry
 * (src/metrics.ts): counters of what this instance sent, failed, pruned and heard back,
 * and gauges read from the shared store at scrape time (stale users, devices, the
 * share of triggers that led to a completed backup within a day, the last job), so
 * every instance reports the same totals. The gauges' store reads are cached for a
 * minute: a scrape every few seconds does not rescan a million users each time.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { Counter, type Registry } from 'prom-client';
import { cachedRead, storeGauge } from '../metrics-gauges.ts';
import type { PushStats, PushStore, TriggerOutcomeStats } from '../stores/push.ts';
import { addDays, utcDay } from './day.ts';

/** The trigger's counters. */
export interface PushMetrics {
  /** Users triggered, by `result`: `sent` (a sender accepted a message) or `failed`. */
  triggers: Counter<'result'>;
  /** Messages by `provider` and `result` (ok, dead, failed, retry). */
  messages: Counter<'provider' | 'result'>;
  /** Addresses removed as dead, by `provider` and `source` (ticket, receipt, endpoint). */
  pruned: Counter<'provider' | 'source'>;
  /** Client reports on a trigger, by `status` and whether it came `within_day`. */
  outcomes: Counter<'status' | 'within_day'>;
  /** Job runs on this instance, by `status` (done, lease_held, lease_lost, aborted). */
  jobs: Counter<'status'>;
  /** Receipts read, by `result` (ok, dead, failed, expired). */
  receipts: Counter<'result'>;
}

const CACHE_MS = 60_000;

/**
 * Registers the trigger's metrics.
 *
 * @param registry - the server's registry
 * @param deps.store - read by the gauges at scrape time
 * @param deps.clock - the injected clock
 * @param deps.staleAfterSec - BACKUP_STALE_AFTER, for the stale-users gauge
 * @returns the counters
 */
export function createPushMetrics(
  registry: Registry,
  deps: { store: PushStore; clock: Clock; staleAfterSec: number },
): PushMetrics {
  const registers = [registry];
  const cached = <T>(read: () => Promise<T>) => cachedRead(deps.clock, CACHE_MS, read);
  const stats = cached<PushStats>(() =>
    deps.store.pushStats(new Date(deps.clock.now().getTime() - deps.staleAfterSec * 1000)),
  );
  // Triggers of the last 7 days whose day to succeed has passed.
  const outcomes = cached<TriggerOutcomeStats>(() => {
    const today = utcDay(deps.clock.now());
    return deps.store.triggerOutcomeStats(addDays(today, -8), addDays(today, -1));
  });
  const gauge = <T>(name: string, help: string, read: () => Promise<T>, pick: (v: T) => number) =>
    storeGauge(registers, name, help, read, pick);
  gauge(
    'noah_push_stale_users',
    'Enabled users with a device and no backup within BACKUP_STALE_AFTER',
    stats,
    (s) => s.staleUsers,
  );
  gauge('noah_push_devices', 'Registered push devices', stats, (s) => s.devices);
  gauge(
    'noah_push_last_job_start_seconds',
    'Start of the last daily trigger job (Unix seconds; 0 = none yet)',
    stats,
    (s) => (s.lastJob ? s.lastJob.startedAt.getTime() / 1000 : 0),
  );
  gauge(
    'noah_push_trigger_success_ratio',
    'Share of triggers (the 7 days before yesterday) that led to a successful backup within a day',
    outcomes,
    (o) => (o.sent === 0 ? 0 : o.succeededWithinDay / o.sent),
  );
  return {
    triggers: new Counter({
      name: 'noah_push_triggers_total',
      help: 'Users triggered by the daily job, by result',
      labelNames: ['result'],
      registers,
    }),
    messages: new Counter({
      name: 'noah_push_messages_total',
      help: 'Push messages by provider and result',
      labelNames: ['provider', 'result'],
      registers,
    }),
    pruned: new Counter({
      name: 'noah_push_tokens_pruned_total',
      help: 'Dead push addresses removed, by provider and source',
      labelNames: ['provider', 'source'],
      registers,
    }),
    outcomes: new Counter({
      name: 'noah_push_trigger_outcomes_total',
      help: 'Client reports on a trigger, by status and whether within a day of it',
      labelNames: ['status', 'within_day'],
      registers,
    }),
    jobs: new Counter({
      name: 'noah_push_jobs_total',
      help: 'Daily trigger job runs on this instance, by status',
      labelNames: ['status'],
      registers,
    }),
    receipts: new Counter({
      name: 'noah_push_receipts_total',
      help: 'Expo receipts read, by result',
      labelNames: ['result'],
      registers,
    }),
  };
}
