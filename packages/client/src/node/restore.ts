/**
 * Restore and verify of a plaintext wallet archive: write to a temp place, fsync,
 * verify, rename atomically, never overwrite without a way back (docs/WALLET.md §2–§3).
 *
 * Restore: refuse a target directory that holds files but no wallet (unless told to
 * replace it); stage into a new directory next to the data directory (same filesystem,
 * so the renames are atomic), extracting with guards as the archive arrives and fsyncing
 * everything; `PRAGMA integrity_check` on every database; then swap: data → old name,
 * staging → data (back to back), fsync the parent, old name → kept name. The replaced
 * data is kept, never deleted. A crash at any point leaves either the old or the new
 * data in place, or (between the two renames) the old data under its old name, which
 * `recoverInterruptedRestore` puts back.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import type { ArchiveKind } from '../ports.ts';
import { createEntryGuard, type ExtractLimits } from '../archive/guards.ts';
import { readArchive } from '../archive/read.ts';
import { isWalletBeingReplaced } from '../wallet-databases.ts';
import { emptyBackup, integrityCheckFailed } from '../wallet-refusals.ts';
import { type FreeSpaceProbe, ensureFreeSpace, fsyncDir, isErrno, removeTree } from './fs-util.ts';
import { removeLeftoversOfGone } from './process.ts';
import {
  activePaths,
  keptPath,
  oldPath,
  recoverInterruptedRestore,
  stagingPrefix,
} from './recover.ts';
import { integrityCheck } from './sqlite.ts';
import { createTreeWriter } from './tree-writer.ts';
import { type WalkOptions, walkDataDir } from './walk.ts';
import { throwIfAborted } from '../errors.ts';

/**
 * Points a restore passes, in order. `old-moved` is the window between the swap's two
 * renames; `new-moved` is after the new data is in place, before the old data gets its
 * kept name.
 */
export type RestorePhase =
  | 'staging'
  | 'extracted'
  | 'verified'
  | 'old-moved'
  | 'new-moved'
  | 'done';

/** What extraction and checks need. */
export interface ExtractOptions {
  readonly kind: ArchiveKind;
  readonly limits: ExtractLimits;
  readonly freeSpace: FreeSpaceProbe;
  /** Bytes always left free on the target filesystem. */
  readonly reserveBytes: number;
  /** What marks a file as a (damaged) database (`walk.ts`). */
  readonly walk: WalkOptions;
  readonly signal?: AbortSignal;
  /** Take an archive without any database (else `empty_backup`); a confirmed restore. */
  readonly allowEmpty?: boolean;
}

/** What `restoreArchive` needs. */
export interface RestoreOptions extends ExtractOptions {
  /** Absolute path of the wallet data directory. */
  readonly dataDir: string;
  readonly clock: Clock;
  /**
   * Replace a target directory that holds files but no wallet (default false: refused
   * with `target_not_a_wallet`). Its files are kept beside it either way.
   */
  readonly replaceNonWallet?: boolean;
  /** The databases of this device's last backup: they mark the wallet being replaced. */
  readonly knownDatabases?: readonly string[];
  /** Called (and awaited) at each phase; for progress and crash tests. */
  readonly onPhase?: (phase: RestorePhase) => void | Promise<void>;
}

/** Counts of a checked archive. */
export interface CheckedArchive {
  /** Files in the archive, databases included (as `WalletSnapshot.entries` counts them). */
  readonly entries: number;
  /** SQLite databases among them, each of which passed `PRAGMA integrity_check`. */
  readonly databases: number;
}

/** A checked archive with its databases' relative paths. */
export interface CheckedPaths extends CheckedArchive {
  readonly databasePaths: readonly string[];
}

/** What a restore did. */
export interface RestoredArchive extends CheckedPaths {
  /**
   * Where the data that was in the data directory before is kept (`<base>.noah-replaced-…`
   * beside it), or null if there was none (a new or empty directory).
   */
  readonly previous: string | null;
}

/**
 * Extracts `source` into the empty directory `dir` with guards, fsyncs it, and runs
 * `PRAGMA integrity_check` on every database in it.
 * @throws NoahError `unsafe_archive`, `integrity_check_failed` (also for a file that
 *   should be a database and is not one), `empty_backup` (no database, unless
 *   `allowEmpty`), `insufficient_space`; or the original error of `source`
 */
export async function extractAndCheck(
  source: AsyncIterable<Uint8Array>,
  dir: string,
  o: ExtractOptions,
  onExtracted?: () => void | Promise<void>,
): Promise<CheckedPaths> {
  const guard = createEntryGuard(o.limits);
  const writer = createTreeWriter(dir, () =>
    ensureFreeSpace(o.freeSpace, dir, o.reserveBytes, 'restore'),
  );
  let synced: Promise<void> | undefined;
  try {
    const entries = readArchive(o.kind, source, { guard, limits: o.limits, signal: o.signal });
    for await (const entry of entries) {
      if (entry.type === 'directory') await writer.mkdir(entry.path);
      else await writer.writeFile(entry.path, entry.body);
    }
    await onExtracted?.();
    const items = await walkDataDir(dir, o.walk);
    // The large files' fsyncs run on the thread pool while SQLite checks on this thread.
    synced = writer.syncFiles();
    synced.catch(() => {}); // awaited below, or abandoned with the staging directory
    const databasePaths: string[] = [];
    for (const item of items) {
      throwIfAborted(o.signal);
      if (item.kind === 'damaged')
        throw integrityCheckFailed(item.path, item.note ?? 'not a SQLite database');
      if (item.kind !== 'database') continue;
      integrityCheck(item.abs, item.path);
      databasePaths.push(item.path);
    }
    if (databasePaths.length === 0 && !o.allowEmpty) throw emptyBackup(guard.files);
    await synced;
    // After the checks (which may checkpoint and delete a WAL): directories to disk.
    await writer.finish();
    return { entries: guard.files, databases: databasePaths.length, databasePaths };
  } catch (err) {
    await synced?.catch(() => {});
    await writer.abandon();
    throw err;
  }
}

/**
 * Restores `source` into `o.dataDir` as described in the module comment. A data
 * directory that does not exist (a new device) is created by the final rename; an empty
 * one is replaced; a wallet's (docs/WALLET.md §2) is replaced and kept beside it; one
 * that holds other files only with `replaceNonWallet`, and kept beside it too.
 * @throws NoahError `invalid_data_dir` if the data directory is not a real directory;
 *   `target_is_mount_point` if it is a mount point; `target_not_a_wallet` if it holds
 *   files but no wallet and `replaceNonWallet` is off
 * @throws as `extractAndCheck`; on any failure the staging directory is removed and the
 *   data directory is untouched
 */
export function restoreArchive(
  source: AsyncIterable<Uint8Array>,
  o: RestoreOptions,
): Promise<RestoredArchive> {
  return restoreStaged(
    (staging) => extractAndCheck(source, staging, o, () => o.onPhase?.('extracted')),
    o,
  );
}

/**
 * The restore around any way of filling the staging directory: `stage` writes and
 * checks it (as `extractAndCheck`), then the swap. Used for archives and for the trees
 * of incremental backups (`tree-restore.ts`).
 * @throws as {@link restoreArchive}
 */
export async function restoreStaged(
  stage: (staging: string) => Promise<CheckedPaths>,
  o: Omit<RestoreOptions, 'kind' | 'limits'>,
): Promise<RestoredArchive> {
  const { dataDir } = o;
  const parent = dirname(dataDir);
  await recoverInterruptedRestore(dataDir);
  const target = await targetKind(dataDir, o.walk);
  if (target.kind === 'other' && !o.replaceNonWallet)
    throw new NoahError(
      'target_not_a_wallet',
      `${dataDir} holds files but no wallet database, and a restore would replace them; nothing was changed`,
    );
  const known = o.knownDatabases ?? [];
  await fsp.mkdir(parent, { recursive: true });
  await ensureFreeSpace(o.freeSpace, parent, o.reserveBytes, 'restore');

  const staging = await fsp.mkdtemp(stagingPrefix(dataDir));
  activePaths.add(staging);
  let swapped = false;
  try {
    await o.onPhase?.('staging');
    const result = await stage(staging);
    // Databases mark the wallet being replaced only where the backup or this device's
    // last backup has them: another program's databases need the user's yes too.
    if (
      target.kind === 'databases' &&
      !o.replaceNonWallet &&
      !isWalletBeingReplaced(target.databases, result.databasePaths, known)
    )
      throw new NoahError(
        'target_not_a_wallet',
        `${dataDir} holds databases that are not this wallet's (${target.databases.slice(0, 3).join(', ')}; the backup holds ${result.databasePaths.join(', ') || 'none'}), and a restore would replace them; nothing was changed`,
      );
    await o.onPhase?.('verified');
    const replacing = target.kind !== 'missing' && target.kind !== 'empty';
    const previous = await swapIn(staging, o, replacing, () => {
      swapped = true;
    });
    await o.onPhase?.('done');
    return { ...result, previous };
  } finally {
    if (!swapped) await removeTree(staging);
    activePaths.delete(staging);
  }
}

/**
 * What the restore would replace: nothing, an empty directory, a directory holding
 * databases, sound or damaged (their paths: a wallet if they are the wallet's,
 * docs/WALLET.md §2), or other files.
 * @throws NoahError `invalid_data_dir` for a symlink, a file or anything not a directory;
 *   `target_is_mount_point` for a mount point
 */
async function targetKind(
  path: string,
  walk: WalkOptions,
): Promise<{ kind: 'missing' | 'empty' | 'databases' | 'other'; databases: string[] }> {
  let st: Awaited<ReturnType<typeof fsp.lstat>>;
  try {
    st = await fsp.lstat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { kind: 'missing', databases: [] };
    throw e;
  }
  if (!st.isDirectory())
    throw new NoahError(
      'invalid_data_dir',
      'the wallet data directory must be a real directory (not a symlink or a file)',
    );
  // Another device than its parent's: a mount point, refused before the download. Except
  // on btrfs, whose subvolumes have devices of their own and can be renamed (a btrfs
  // mount point is still refused, by the rename: swapIn).
  if (st.dev !== (await fsp.stat(dirname(path))).dev && !(await onBtrfs(path)))
    throw mountPoint(path);
  if ((await fsp.readdir(path)).length === 0) return { kind: 'empty', databases: [] };
  const databases = (await walkDataDir(path, walk))
    .filter((i) => i.kind === 'database' || i.kind === 'damaged')
    .map((i) => i.path);
  return { kind: databases.length > 0 ? 'databases' : 'other', databases };
}

/**
 * A restore swaps the data directory itself, which cannot be done to a mount point (a
 * volume mounted there: rename fails with EBUSY or EXDEV); docs/WALLET.md §3.
 */
function mountPoint(dataDir: string): NoahError & { path: string } {
  const err = new NoahError(
    'target_is_mount_point',
    `${dataDir} is a mount point, and a restore replaces the wallet directory itself; nothing was changed`,
  );
  return Object.assign(err, { path: dataDir });
}

/** statfs(2) `f_type` of btrfs (BTRFS_SUPER_MAGIC). */
const BTRFS_MAGIC = 0x9123683e;

async function onBtrfs(path: string): Promise<boolean> {
  return (await fsp.statfs(path).catch(() => null))?.type === BTRFS_MAGIC;
}

/** A rename of the data directory refused because it is a mount point (bind mounts too). */
function asMountPoint(e: unknown, dataDir: string): unknown {
  return isErrno(e, 'EBUSY') || isErrno(e, 'EXDEV') ? mountPoint(dataDir) : e;
}

/**
 * The swap. Into a missing or empty directory: one rename (POSIX replaces an empty
 * directory atomically; one that filled meanwhile fails with ENOTEMPTY, nothing lost).
 * Over existing data: data → old, staging → data with nothing in between (the shortest
 * window Node's fs allows: docs/WALLET.md §3), fsync the parent, old → kept name.
 * @returns where the replaced data is kept, or null
 */
async function swapIn(
  staging: string,
  o: Omit<RestoreOptions, 'kind' | 'limits'>,
  replacing: boolean,
  markSwapped: () => void,
): Promise<string | null> {
  const { dataDir } = o;
  const parent = dirname(dataDir);
  if (!replacing) {
    await fsp.rename(staging, dataDir).catch((e: unknown) => {
      throw asMountPoint(e, dataDir);
    });
    markSwapped();
    await fsyncDir(parent);
    return null;
  }
  // Recorded in the old copy's name: recovery tells the restored directory by it.
  const old = oldPath(dataDir, o.clock, (await fsp.stat(staging, { bigint: true })).ino);
  activePaths.add(old);
  try {
    await fsp.rename(dataDir, old).catch((e: unknown) => {
      throw asMountPoint(e, dataDir);
    });
    await o.onPhase?.('old-moved');
    try {
      await fsp.rename(staging, dataDir);
    } catch (e) {
      await fsp.rename(old, dataDir); // put the old data back before failing
      throw e;
    }
    markSwapped();
    await fsyncDir(parent);
    await o.onPhase?.('new-moved');
    // Should this rename fail, the old copy stays under its old name, where the next
    // recovery finds the restored directory in place and gives it its kept name.
    const kept = keptPath(dataDir, o.clock.now());
    const at = await fsp.rename(old, kept).then(
      () => kept,
      () => old,
    );
    await fsyncDir(parent);
    return at;
  } finally {
    activePaths.delete(old);
  }
}

/**
 * Verifies `source` without restoring it: extracts into a scratch directory under
 * `scratchParent`, checks every database, then deletes the scratch directory.
 * @throws as `extractAndCheck`
 */
export async function verifyArchive(
  source: AsyncIterable<Uint8Array>,
  scratchParent: string,
  o: ExtractOptions,
): Promise<CheckedArchive> {
  await fsp.mkdir(scratchParent, { recursive: true });
  await removeLeftoversOfGone(scratchParent, /^noah-verify-(\d+)-/);
  await ensureFreeSpace(o.freeSpace, scratchParent, o.reserveBytes, 'verify');
  const scratch = await fsp.mkdtemp(join(scratchParent, `noah-verify-${process.pid}-`));
  try {
    const { entries, databases } = await extractAndCheck(source, scratch, o);
    return { entries, databases };
  } finally {
    await removeTree(scratch);
  }
}
