/**
 * Time-keeping of a trigger job: a pacer that spreads sends (PUSH_RATE, BACKUP_SPREAD),
 * a lease keeper that renews the job's lease while it runs (also during long waits),
 * and retry backoff. Everything reads the injected clock and waits with the injected
 * sleep, so a test drives a whole job with a manual clock.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { MetadataStore } from '../stores/metadata.ts';

/** Waits `ms` (real time by default; tests pass one that advances a manual clock). */
export type Sleep = (ms: number) => Promise<void>;

/** Renews a lease while work runs; `lost` once another holder has it. */
export interface LeaseKeeper {
  readonly lost: boolean;
  /** Renews when a third of the lease's lifetime has passed since the last renewal. */
  renewIfDue(): Promise<boolean>;
  /**
   * Waits `ms` in slices, renewing between them; stops early when the lease is lost or
   * the job is aborted.
   */
  sleep(ms: number): Promise<void>;
}

/**
 * Creates a lease keeper for a lease the caller has just acquired.
 *
 * @param deps - the store's lease methods, lease name, holder, clock, ttl and sleep
 * @returns the keeper
 */
export function createLeaseKeeper(deps: {
  store: Pick<MetadataStore, 'tryAcquireLease'>;
  name: string;
  holder: string;
  clock: Clock;
  ttlMs: number;
  sleep: Sleep;
  signal?: AbortSignal;
}): LeaseKeeper {
  const { store, name, holder, clock, ttlMs } = deps;
  const slice = Math.max(1, Math.floor(ttlMs / 3));
  let renewedAt = clock.now().getTime();
  let lost = false;
  const renewIfDue = async () => {
    if (lost) return false;
    const now = clock.now();
    if (now.getTime() - renewedAt < slice) return true;
    if (await store.tryAcquireLease(name, holder, now, ttlMs)) renewedAt = now.getTime();
    else lost = true;
    return !lost;
  };
  return {
    get lost() {
      return lost;
    },
    renewIfDue,
    async sleep(ms) {
      let left = ms;
      while (left > 0 && !lost && !deps.signal?.aborted) {
        const step = Math.min(left, slice);
        await deps.sleep(step);
        left -= step;
        await renewIfDue();
      }
    },
  };
}

/** Spaces out sends: `take(n)` waits until `n` more messages may go. */
export interface Pacer {
  take(n: number): Promise<void>;
}

/**
 * Creates a pacer at one message per `intervalMs` (0 = no waiting). It does not save
 * up: after an idle period it restarts from now instead of bursting to catch up.
 *
 * @param clock - the injected clock
 * @param intervalMs - ms between messages
 * @param wait - how to wait (a lease keeper's sleep, to keep renewing)
 * @returns the pacer
 */
export function createPacer(clock: Clock, intervalMs: number, wait: Sleep): Pacer {
  let nextAt = Number.NEGATIVE_INFINITY;
  return {
    async take(n) {
      if (intervalMs <= 0) return;
      const now = clock.now().getTime();
      if (nextAt < now) nextAt = now;
      const delay = nextAt - now;
      nextAt += n * intervalMs;
      if (delay > 0) await wait(delay);
    },
  };
}

/**
 * The interval between messages for a rate cap and a spread window.
 *
 * @param rate - messages per second at most (0 = no cap)
 * @param spreadSec - spread the job over this window (0 = as fast as allowed)
 * @param expected - messages the job expects to send
 * @returns ms between messages (0 = no pacing)
 * @example
 * ```ts
 * paceInterval(500, 3600, 100_000); // 36 (the spread is slower than the cap)
 * ```
 */
export function paceInterval(rate: number, spreadSec: number, expected: number): number {
  const byRate = rate > 0 ? 1000 / rate : 0;
  const bySpread = spreadSec > 0 && expected > 0 ? (spreadSec * 1000) / expected : 0;
  return Math.max(byRate, bySpread);
}

/**
 * Exponential backoff: `base · 2^(attempt−1)`, at least what the server asked for
 * (Retry-After), at most `max`.
 *
 * @param attempt - 1 for the first retry
 * @param baseMs - the first delay
 * @param maxMs - the cap
 * @param askedMs - the largest Retry-After among the messages, if any
 * @returns the delay in ms
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, askedMs = 0): number {
  return Math.min(maxMs, Math.max(askedMs, baseMs * 2 ** (attempt - 1)));
}
