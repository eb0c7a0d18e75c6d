/**
 * Names of the directories a restore leaves beside the wallet data directory while it
 * works, and the recovery that puts things right after a crash (docs/WALLET.md §3: no
 * crash point leaves the user without a wallet, and recovery never deletes what may be
 * the only copy of one).
 *
 * A restore of `<parent>/<base>` uses:
 * - `<parent>/.<base>.noah-staging-<owner>-<random>`: the archive being extracted, a copy
 *   of a backup (an abandoned one is removed);
 * - `<parent>/<base>.noah-old-<ms>-<owner>-<ino>-<random>`: the previous data between the
 *   swap's two renames, until it gets its kept name. `<ino>` is the inode number of the
 *   staging directory that takes its place, so recovery can tell the restored directory
 *   from one created at `<base>` by someone else after a crash;
 * - `<parent>/<base>.noah-replaced-<UTC time>-<random>`: the previous data, kept after
 *   the swap. Nothing here deletes it: the app or the user does, once content.
 *
 * `<owner>` is `<pid>.<boot>` (`process.ts` `ownerTag`): the restore's process and the
 * boot it ran in, so that after a reboot, when its pid may be another live process's,
 * recovery still knows the restore is gone. Names without the boot (older versions,
 * platforms without a boot id) are judged by the pid alone.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Clock } from '@noah-backup/core/clock';
import { fsyncDir, isErrno, removeTree } from './fs-util.ts';
import { isOwnerAlive, isSelf, OWNER_TAG, ownerTag } from './process.ts';

/** Staging and old directories this process is using right now; recovery leaves them. */
export const activePaths = new Set<string>();

/** What `recoverInterruptedRestore` did. */
export interface RecoveryReport {
  /**
   * True if the data directory was missing (or an empty directory) after a crash
   * between the swap's two renames, and the previous data was put back.
   */
  readonly restoredOld: boolean;
  /** Previous data of a swap that finished before the crash, now under its kept name. */
  readonly kept: readonly string[];
  /**
   * Previous data kept beside a data directory that is not the one the restore put
   * there (created after a crash between the renames): either may be the only copy of
   * the wallet, so both stay and backups refuse (`restore_conflict`) until the user
   * keeps one. Each stays under its `noah-old` name so every recovery reports it again.
   */
  readonly conflicts: readonly string[];
  /** Abandoned staging directories removed. */
  readonly removedStaging: number;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The prefix `mkdtemp` completes into a staging directory for `dataDir`. */
export function stagingPrefix(dataDir: string): string {
  return join(dirname(dataDir), `.${basename(dataDir)}.noah-staging-${ownerTag()}-`);
}

/**
 * A fresh name for the previous data while it is swapped out.
 * @param stagingIno - the inode number of the staging directory that replaces it
 */
export function oldPath(dataDir: string, clock: Clock, stagingIno: bigint): string {
  const tag = `${clock.now().getTime()}-${ownerTag()}-${stagingIno}-${randomBytes(4).toString('hex')}`;
  return join(dirname(dataDir), `${basename(dataDir)}.noah-old-${tag}`);
}

/** A fresh name under which replaced data is kept: `<base>.noah-replaced-<UTC>-<random>`. */
export function keptPath(dataDir: string, when: Date): string {
  const stamp = when
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return join(
    dirname(dataDir),
    `${basename(dataDir)}.noah-replaced-${stamp}-${randomBytes(3).toString('hex')}`,
  );
}

/** Leftovers of a restore run by a live process other than this one (or by us, now). */
function inUse(path: string, pid: number, recordedBoot: string | undefined): boolean {
  if (activePaths.has(path)) return true;
  return !isSelf(pid, recordedBoot) && isOwnerAlive(pid, recordedBoot);
}

interface OldCopy {
  readonly path: string;
  readonly ms: number;
  /** Inode of the staging directory that replaced it; null in names without one. */
  readonly ino: bigint | null;
}

/**
 * Finishes or undoes a restore that was interrupted (crash, SIGKILL, power loss). It
 * never deletes an old copy of the data:
 * - `<dataDir>` missing, or an empty directory (killed between the swap's two renames):
 *   the newest old copy is renamed back into place;
 * - `<dataDir>` present and it is the restored directory (same inode as the staging
 *   directory the old copy's name records): the swap finished; the old copy gets its
 *   kept name (`kept`);
 * - `<dataDir>` present and something else (a wallet created there after the crash):
 *   both are kept where they are and reported (`conflicts`);
 * - abandoned staging directories (their process is gone) are removed: each is a copy
 *   of a backup, never the only copy of anything.
 * Directories in use by a live restore (this process or another) are left alone.
 * Called by `restore` and `snapshot` first; safe to call at any time.
 * @param dataDir - the wallet data directory (absolute or relative)
 * @returns what was done
 * @example
 * const report = await recoverInterruptedRestore('/data/wallet');
 * if (report.conflicts.length) console.warn('choose a wallet:', report.conflicts);
 */
export async function recoverInterruptedRestore(dataDir: string): Promise<RecoveryReport> {
  const parent = dirname(dataDir);
  const base = basename(dataDir);
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch (e) {
    if (isErrno(e, 'ENOENT'))
      return { restoredOld: false, kept: [], conflicts: [], removedStaging: 0 };
    throw e;
  }
  const stagingRe = new RegExp(`^\\.${escapeRe(base)}\\.noah-staging-${OWNER_TAG}-[^/]+$`);
  // Names written before the inode was recorded have none: such a copy is never
  // taken for a finished swap's.
  const oldRe = new RegExp(
    `^${escapeRe(base)}\\.noah-old-(\\d+)-${OWNER_TAG}-(?:(\\d+)-)?[0-9a-f]{8}$`,
  );

  const olds: OldCopy[] = [];
  const staging: string[] = [];
  for (const name of names) {
    const s = stagingRe.exec(name);
    if (s && !inUse(join(parent, name), Number(s[1]), s[2])) staging.push(join(parent, name));
    const o = oldRe.exec(name);
    if (o && !inUse(join(parent, name), Number(o[2]), o[3]))
      olds.push({
        path: join(parent, name),
        ms: Number(o[1]),
        ino: o[4] === undefined ? null : BigInt(o[4]),
      });
  }
  olds.sort((a, b) => b.ms - a.ms);

  let changed = false;
  let restoredOld = false;
  let data = await dataState(dataDir);
  const newest = olds[0];
  if (newest && data === 'empty') {
    // Only an empty directory is removed; one that filled meanwhile stays (ENOTEMPTY).
    data = await fsp.rmdir(dataDir).then(
      () => 'missing' as const,
      () => dataState(dataDir),
    );
  }
  if (newest && data === 'missing') {
    // Killed between the two renames: the new data was never in place. Put the old back.
    await fsp.rename(newest.path, dataDir);
    olds.shift();
    restoredOld = true;
    changed = true;
  }
  const kept: string[] = [];
  const conflicts: string[] = [];
  const ino = olds.length > 0 ? await inodeOf(dataDir) : null;
  for (const old of olds) {
    if (ino !== null && old.ino === ino) {
      const to = keptPath(dataDir, new Date(old.ms));
      await fsp.rename(old.path, to);
      kept.push(to);
      changed = true;
    } else conflicts.push(old.path);
  }
  for (const path of staging) await removeTree(path);
  if (changed || staging.length > 0) await fsyncDir(parent);
  return { restoredOld, kept, conflicts, removedStaging: staging.length };
}

/** Whether `dir` is missing, an empty directory, or anything else. */
async function dataState(dir: string): Promise<'missing' | 'empty' | 'present'> {
  try {
    const st = await fsp.lstat(dir);
    if (!st.isDirectory()) return 'present';
    return (await fsp.readdir(dir)).length === 0 ? 'empty' : 'present';
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'missing';
    throw e;
  }
}

/** The inode number of `path` (not following a final symlink); null if it is missing. */
async function inodeOf(path: string): Promise<bigint | null> {
  try {
    return (await fsp.lstat(path, { bigint: true })).ino;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}
