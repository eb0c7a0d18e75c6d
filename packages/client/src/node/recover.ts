/**
 * Names of the directories a restore leaves beside the wallet data directory while it
 * works, and the recovery that puts things right after a crash (issue 4 §5: "no crash
 * point leaves the user without a wallet").
 *
 * A restore of `<parent>/<base>` uses:
 * - `<parent>/.<base>.noah-staging-<pid>-<random>`: the archive being extracted;
 * - `<parent>/<base>.noah-old-<ms>-<pid>-<random>`: the previous data, between the swap's
 *   two renames and until the new data is in place.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Clock } from '@noah-backup/core/clock';
import { fsyncDir, isErrno, pathExists, removeTree } from './fs-util.ts';
import { isProcessAlive } from './process.ts';
import { integrityCheck } from './sqlite.ts';
import { walkDataDir } from './walk.ts';

/** Staging and old directories this process is using right now; recovery leaves them. */
export const activePaths = new Set<string>();

/** What `recoverInterruptedRestore` did. */
export interface RecoveryReport {
  /** True if the data directory was missing and the previous data was put back. */
  readonly restoredOld: boolean;
  /** Old copies removed because the data directory is in place and checks out. */
  readonly removedOld: number;
  /** Old copies kept because the data directory failed its integrity check. */
  readonly keptOld: readonly string[];
  /** Abandoned staging directories removed. */
  readonly removedStaging: number;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The prefix `mkdtemp` completes into a staging directory for `dataDir`. */
export function stagingPrefix(dataDir: string): string {
  return join(dirname(dataDir), `.${basename(dataDir)}.noah-staging-${process.pid}-`);
}

/** A fresh name for the previous data while it is swapped out. */
export function oldPath(dataDir: string, clock: Clock): string {
  const tag = `${clock.now().getTime()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return join(dirname(dataDir), `${basename(dataDir)}.noah-old-${tag}`);
}

/** Leftovers of a restore run by a live process other than this one (or by us, now). */
function inUse(path: string, pid: number): boolean {
  if (activePaths.has(path)) return true;
  return pid !== process.pid && isProcessAlive(pid);
}

/**
 * Finishes or undoes a restore that was interrupted (crash, SIGKILL, power loss):
 * - `<dataDir>` missing and an old copy present (killed between the swap's two
 *   renames): the newest old copy is renamed back into place;
 * - both present (killed after the swap): every database in `<dataDir>` is checked with
 *   `PRAGMA integrity_check`, and only if all pass are the old copies removed;
 * - abandoned staging directories (their process is gone) are removed.
 * Directories in use by a live restore (this process or another) are left alone.
 * Called by `restore` and `snapshot` first; safe to call at any time.
 * @param dataDir - the wallet data directory (absolute or relative)
 * @returns what was done
 * @example await recoverInterruptedRestore('/data/wallet');
 */
export async function recoverInterruptedRestore(dataDir: string): Promise<RecoveryReport> {
  const parent = dirname(dataDir);
  const base = basename(dataDir);
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch (e) {
    if (isErrno(e, 'ENOENT'))
      return { restoredOld: false, removedOld: 0, keptOld: [], removedStaging: 0 };
    throw e;
  }
  const stagingRe = new RegExp(`^\\.${escapeRe(base)}\\.noah-staging-(\\d+)-[^/]+$`);
  const oldRe = new RegExp(`^${escapeRe(base)}\\.noah-old-(\\d+)-(\\d+)-[0-9a-f]+$`);

  let removedStaging = 0;
  const olds: { path: string; ts: number }[] = [];
  for (const name of names) {
    const staging = stagingRe.exec(name);
    if (staging && !inUse(join(parent, name), Number(staging[1]))) {
      await removeTree(join(parent, name));
      removedStaging++;
    }
    const old = oldRe.exec(name);
    if (old && !inUse(join(parent, name), Number(old[2])))
      olds.push({ path: join(parent, name), ts: Number(old[1]) });
  }
  olds.sort((a, b) => b.ts - a.ts);

  let restoredOld = false;
  const newest = olds[0];
  if (newest && !(await pathExists(dataDir))) {
    // Killed between the two renames: the new data was never in place. Put the old back.
    await fsp.rename(newest.path, dataDir);
    await fsyncDir(parent);
    olds.shift();
    restoredOld = true;
  }
  let removedOld = 0;
  const keptOld: string[] = [];
  if (olds.length > 0) {
    if (await checksOut(dataDir)) {
      for (const o of olds) await removeTree(o.path);
      removedOld = olds.length;
    } else keptOld.push(...olds.map((o) => o.path));
  }
  if (removedStaging + removedOld > 0) await fsyncDir(parent);
  return { restoredOld, removedOld, keptOld, removedStaging };
}

/** True if every database in `dir` passes `PRAGMA integrity_check` (opened read-only). */
async function checksOut(dir: string): Promise<boolean> {
  try {
    for (const item of await walkDataDir(dir))
      if (item.kind === 'database') integrityCheck(item.abs, item.path, { readonly: true });
    return true;
  } catch {
    return false;
  }
}
