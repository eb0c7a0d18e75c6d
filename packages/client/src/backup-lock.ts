/**
 * The device-wide backup lock: one backup or restore at a time, across
 * processes sharing the state store. A lock record `{owner, expiresAt}` is written
 * with the store's compare-and-set only if the current one is absent or expired; the
 * holder renews it while it works, so a slow backup keeps it, and a crashed holder's
 * lock goes stale at its expiry — or at once, when a platform {@link ProcessProbe} says
 * the holder's process is gone (a killed CLI run must not block the next for minutes).
 * Times come from the injected clock.
 * @module
 */
import { bytesToHex } from '@noah-backup/core/bytes';
import type { Clock } from '@noah-backup/core/clock';
import { secureRandom } from '@noah-backup/core/clock';
import type { DeviceStateStore } from './ports.ts';
import { type Logger, silentLogger } from './logger.ts';

/** The state store key of the lock. */
export const LOCK_KEY = 'backup_lock';

/** The stored lock record. */
interface LockRecord {
  owner: string;
  /** Epoch ms after which the lock is free. */
  expiresAt: number;
  /** The holder's process, as its {@link ProcessProbe} names it. */
  process?: string;
}

/** Tells whether the process that holds a lock still runs (platform-specific). */
export interface ProcessProbe {
  /** This process's id as recorded in the lock, e.g. `host:pid`. */
  readonly self: string;
  /** True only when the process `id` is known to have ended. */
  isGone(id: string): boolean;
}

/** Options of {@link createBackupLock}. */
export interface BackupLockOptions {
  state: DeviceStateStore;
  clock: Clock;
  /** Lifetime of an unrenewed lock, ms (default 5 min). */
  ttlMs?: number;
  /** Renewal period, ms (default a quarter of the TTL). */
  renewEveryMs?: number;
  logger?: Logger;
  /** Frees a lock whose holder's process has ended (default: only expiry frees it). */
  processProbe?: ProcessProbe;
}

/** A held lock. */
export interface LockLease {
  /** Aborts if the lock was lost (a renewal found another owner). */
  readonly lost: AbortSignal;
  /** Stops renewing and frees the lock if still ours. Idempotent. */
  release(): Promise<void>;
}

/** The lock. */
export interface BackupLock {
  /** Takes the lock, or returns null when a live lock is held by anyone (us included). */
  acquire(): Promise<LockLease | null>;
  /** Whether a live (unexpired) lock exists. */
  isHeld(): Promise<boolean>;
}

function parse(text: string | null): LockRecord | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Partial<LockRecord>;
    if (typeof v.owner === 'string' && typeof v.expiresAt === 'number')
      return typeof v.process === 'string'
        ? { owner: v.owner, expiresAt: v.expiresAt, process: v.process }
        : { owner: v.owner, expiresAt: v.expiresAt };
  } catch {
    // A corrupt record counts as no lock: better one extra backup than none ever again.
  }
  return null;
}

/**
 * Creates the backup lock over a state store.
 * @example
 * ```ts
 * const lock = createBackupLock({ state, clock: systemClock });
 * const lease = await lock.acquire();
 * if (!lease) return { skipped: 'running' };
 * try { await backup({ signal: lease.lost }); } finally { await lease.release(); }
 * ```
 */
export function createBackupLock(opts: BackupLockOptions): BackupLock {
  const ttl = opts.ttlMs ?? 5 * 60_000;
  const every = opts.renewEveryMs ?? Math.max(1, Math.floor(ttl / 4));
  const logger = opts.logger ?? silentLogger;
  const { state, clock, processProbe: probe } = opts;
  const live = (r: LockRecord | null) =>
    r !== null &&
    r.expiresAt > clock.now().getTime() &&
    !(r.process !== undefined && probe?.isGone(r.process));

  return {
    async isHeld() {
      return live(parse(await state.get(LOCK_KEY)));
    },
    async acquire() {
      const owner = bytesToHex(secureRandom(16));
      const record = (expiresAt: number) =>
        JSON.stringify({ owner, expiresAt, process: probe?.self });
      // When the record last written says the lease ends: past it, another process may
      // take the lock.
      let validUntil = clock.now().getTime() + ttl;
      const taken = await state.compareAndSet(
        LOCK_KEY,
        record(validUntil),
        (cur) => !live(parse(cur)),
      );
      if (!taken) return null;
      const mine = (cur: string) => parse(cur)?.owner === owner;
      const lost = new AbortController();
      let renewing: Promise<unknown> | undefined;
      let renewingSince = 0;
      const stop = (why: string) => {
        if (lost.signal.aborted) return;
        logger.warn(why);
        lost.abort();
      };
      const timer = setInterval(() => {
        const now = clock.now().getTime();
        const ending = validUntil - every;
        // A renewal begun while the lease was good that has not landed when the lease is
        // about to end (a stalled disk, a hung store) leaves the holder working on a lease
        // another process may soon take: stop while one renewal period is left. A renewal
        // begun later (the app was suspended past its lease) decides by its own
        // compare-and-set: the lock is lost only if someone took it.
        if (renewing && renewingSince < ending && now >= ending)
          stop('backup lock not renewed in time; stopping');
        // One renewal at a time: on a slow disk they would pile up and finish out of
        // order, and one still waiting when release() ran would write a live record
        // back over the released one.
        if (renewing) return;
        renewingSince = now;
        const until = now + ttl;
        renewing = state
          .compareAndSet(LOCK_KEY, record(until), mine)
          .then(
            (ok) => {
              if (ok) validUntil = until;
              else stop('backup lock lost to another owner');
            },
            () => {
              logger.warn('could not renew the backup lock');
              // Failing renewals cannot keep the lease: stop before it ends.
              if (clock.now().getTime() >= validUntil - every)
                stop('backup lock not renewed in time; stopping');
            },
          )
          .finally(() => {
            renewing = undefined;
          });
      }, every);
      (timer as { unref?: () => void }).unref?.();
      let released = false;
      return {
        lost: lost.signal,
        async release() {
          if (released) return;
          released = true;
          clearInterval(timer);
          await renewing;
          // Expire our record in place; someone else's record is left alone.
          await state.compareAndSet(LOCK_KEY, JSON.stringify({ owner, expiresAt: 0 }), mine);
        },
      };
    },
  };
}
