/**
 * A cross-process exclusive lock on a lock file, for short read-modify-write sections
 * (the device state store). Acquired by creating the file exclusively (`O_CREAT|O_EXCL`);
 * a lock whose file is older than `staleMs` belongs to a crashed process and is taken
 * over.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { isErrno } from './fs-util.ts';

/** Options of `withFileLock`. */
export interface FileLockOptions {
  /** A lock file older than this is stale (its holder crashed). Default 30 s. */
  readonly staleMs?: number;
  /** Pause between attempts (jittered ±50 %). Default 10 ms. */
  readonly retryMs?: number;
  /** Give up after about this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Compared with the lock file's mtime for staleness. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * Runs `fn` while holding the lock `lockPath`.
 *
 * Staleness is judged on the lock file's mtime; a stale lock is renamed aside (atomic:
 * only one contender moves that file) and checked to be the very file judged stale
 * before it is deleted; a fresh lock moved by mistake is linked back. The lock is
 * meant for sections far shorter than `staleMs`.
 * @param lockPath - the lock file (its directory must exist)
 * @param fn - the critical section
 * @throws NoahError `lock_timeout` if the lock stays held past `timeoutMs`
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: FileLockOptions = {},
): Promise<T> {
  const ino = await acquire(lockPath, opts);
  try {
    return await fn();
  } finally {
    await release(lockPath, ino);
  }
}

async function acquire(lockPath: string, opts: FileLockOptions): Promise<number> {
  const staleMs = opts.staleMs ?? 30_000;
  const retryMs = opts.retryMs ?? 10;
  const clock = opts.clock ?? systemClock;
  const attempts = Math.max(1, Math.ceil((opts.timeoutMs ?? 10_000) / retryMs));
  for (let i = 0; i < attempts; i++) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o600);
      try {
        await fh.write(`${process.pid}\n`);
        return (await fh.stat()).ino;
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
    const st = await fsp.stat(lockPath).catch(() => undefined);
    if (st === undefined) continue; // released meanwhile: try again now
    if (clock.now().getTime() - st.mtimeMs > staleMs) {
      await breakStale(lockPath, st.ino);
      continue;
    }
    await sleep(retryMs * (0.5 + Math.random()));
  }
  throw new NoahError('lock_timeout', 'timed out waiting for the device state lock');
}

async function breakStale(lockPath: string, staleIno: number): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return; // someone else broke it first
    throw e;
  }
  const moved = await fsp.stat(aside);
  // Another contender replaced the stale lock with a fresh one in between: put it back.
  if (moved.ino !== staleIno) await fsp.link(aside, lockPath).catch(() => {});
  await fsp.rm(aside, { force: true });
}

async function release(lockPath: string, ino: number): Promise<void> {
  const st = await fsp.stat(lockPath).catch(() => undefined);
  // Only remove our own lock (it may have been judged stale and taken over).
  if (st?.ino === ino) await fsp.rm(lockPath, { force: true });
}
