/**
 * Whether the process that left something behind is still running: for temp files and
 * restore leftovers named with a pid, and for the backup lock of a process that was
 * killed (a crashed run's lock goes stale safely: here as soon as the holder is known
 * to be gone, not only at the lock's expiry). A reused pid only makes
 * us wait longer, never take what a live process holds; where a name records the boot
 * too (an interrupted restore's directories), a reused pid of a later boot does not.
 * @module
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessProbe } from '../backup-lock.ts';
import { isErrno, removeTree } from './fs-util.ts';

/**
 * True if a process with this id exists on this machine (EPERM: exists, owned by
 * someone else). This process counts as alive.
 * @param pid - a process id
 */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !isErrno(e, 'ESRCH');
  }
}

let boot: string | null | undefined;

/**
 * This boot's tag: the first 8 hex digits of the kernel's random boot id
 * (`/proc/sys/kernel/random/boot_id`, Linux), or null where there is none. A name that
 * records another boot's tag was left by a process of an earlier boot: gone, whatever
 * runs under its pid now (pids are reused after a reboot).
 */
export function bootTag(): string | null {
  if (boot === undefined) {
    try {
      const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
      boot = /^[0-9a-f]{8}/.test(id) ? id.slice(0, 8) : null;
    } catch {
      boot = null;
    }
  }
  return boot;
}

/**
 * How this process signs what it leaves behind: `<pid>.<boot tag>`, or `<pid>` where
 * the platform has no boot id. {@link OWNER_TAG} reads both.
 */
export function ownerTag(): string {
  const b = bootTag();
  return b === null ? String(process.pid) : `${process.pid}.${b}`;
}

/** A pattern of {@link ownerTag}: the pid, then the boot tag if recorded (two groups). */
export const OWNER_TAG = String.raw`(\d+)(?:\.([0-9a-f]{8}))?`;

/**
 * True if the process a name was signed by may still run: the boot it recorded (if
 * any) is this one, and its pid exists.
 * @param pid - the recorded pid
 * @param recordedBoot - the recorded boot tag, if the name has one
 */
export function isOwnerAlive(pid: number, recordedBoot: string | undefined): boolean {
  const now = bootTag();
  if (recordedBoot !== undefined && now !== null && recordedBoot !== now) return false;
  return isProcessAlive(pid);
}

/**
 * True if a name signed with `pid` and `recordedBoot` is this very process's.
 * @param pid - the recorded pid
 * @param recordedBoot - the recorded boot tag, if the name has one
 */
export function isSelf(pid: number, recordedBoot: string | undefined): boolean {
  const now = bootTag();
  return (
    pid === process.pid && (recordedBoot === undefined || now === null || recordedBoot === now)
  );
}

/**
 * The backup lock's {@link ProcessProbe} for Node: this process is `<host>:<pid>`; a
 * holder recorded on this host whose pid no longer exists is gone. Holders on another
 * host (a state directory shared over a network) are never judged gone.
 * @example
 * ```ts
 * createBackupManager({ …, processProbe: nodeProcessProbe() });
 * ```
 */
export function nodeProcessProbe(): ProcessProbe {
  const host = hostname();
  return {
    self: `${host}:${process.pid}`,
    isGone(id) {
      const at = id.lastIndexOf(':');
      if (at < 0 || id.slice(0, at) !== host) return false;
      const pid = id.slice(at + 1);
      return /^\d{1,10}$/.test(pid) && !isProcessAlive(Number(pid));
    },
  };
}

/**
 * Removes the entries of `dir` that a process now gone left behind: names matching
 * `pattern`, whose first capture group is the pid of the process that made them (temp
 * files and directories of a run killed before its own cleanup). A missing `dir` is
 * not an error.
 * @param dir - a temp directory
 * @param pattern - e.g. `/^noah-spool-(\d+)-/`
 * @returns how many entries were removed
 */
export async function removeLeftoversOfGone(dir: string, pattern: RegExp): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0;
    throw e;
  }
  let removed = 0;
  for (const name of names) {
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    await removeTree(join(dir, name));
    removed++;
  }
  return removed;
}

/**
 * What the Node adapters leave in a temp directory while they work: spool files
 * (`noah-spool-<pid>-…`, the encrypted backup), snapshot copies and verify scratch
 * directories (`noah-snapshot-<pid>-…`, `noah-verify-<pid>-…`, wallet data in clear).
 */
const TEMP_LEFTOVER = /^noah-(?:spool|snapshot|verify)-(\d+)-/;

/**
 * Removes every temp entry of the Node adapters that a process now gone left in `dir`
 * (a run killed before its own cleanup). Each adapter does this for its own kind before
 * it writes; a program calls this at start so that a killed backup's 50 MB spool does
 * not wait for the next backup.
 * @param dir - the temp directory the adapters use (default: the OS temp dir)
 * @returns how many entries were removed
 * @example
 * ```ts
 * await removeTempLeftovers();
 * ```
 */
export function removeTempLeftovers(dir: string = tmpdir()): Promise<number> {
  return removeLeftoversOfGone(dir, TEMP_LEFTOVER);
}
