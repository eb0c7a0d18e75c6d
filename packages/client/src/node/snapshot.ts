/**
 * A consistent snapshot of a wallet data directory (docs/WALLET.md §1): every database
 * copied with `VACUUM INTO` from a read-only connection while the wallet keeps writing,
 * journals (`-wal`, `-shm`, `-journal`) never copied raw, other regular files copied,
 * symlinks and special files skipped; then archived as a stream from the temp copies.
 *
 * Every database copy must pass `PRAGMA integrity_check` (the check a restore runs
 * before it swaps anything in) or the snapshot fails. `VACUUM INTO` copies an index that
 * disagrees with its table as it is, so without this a damaged wallet database would be
 * backed up as if it were fine, and with two backups kept, two days later neither one
 * would restore. Refused at backup time, nothing is uploaded and the last good backups
 * stay on the server. The same holds for a file that should be a database and is not
 * (emptied, its header overwritten: `walk.ts`), and for a directory that is no wallet
 * at all (`not_a_wallet`: empty, or without any database). docs/WALLET.md §1.
 * @module
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '@noah-backup/core/clock';
import type { ArchiveKind, WalletSnapshot } from '../ports.ts';
import { type ArchiveInput, writeArchive } from '../archive/write.ts';
import { corruptWalletDatabase, notAWallet } from '../wallet-refusals.ts';
import {
  type FreeSpaceProbe,
  ensureFreeSpace,
  mapSpaceError,
  pathExists,
  removeTree,
} from './fs-util.ts';
import { removeLeftoversOfGone } from './process.ts';
import { integrityCheck, isCorruption, vacuumInto } from './sqlite.ts';
import { type WalkItem, walkDataDir } from './walk.ts';
import { throwIfAborted } from '../errors.ts';

/** `noah-snapshot-<pid>-<random>`: the pid tells a killed run's copies from a live one's. */
export const SNAPSHOT_NAME = /^noah-snapshot-(\d+)-/;
/** Read size of archived files: one v2 chunk (64 KiB meant 4x the reads and buffers). */
const READ_CHUNK = 256 * 1024;

/** One line of a snapshot's entry list. */
export interface SnapshotItem {
  /** Relative path with `/` separators. */
  readonly path: string;
  /** `skipped` items (symlinks, special files, journals, files that vanished) are not archived. */
  readonly kind: 'directory' | 'database' | 'file' | 'skipped';
  /** Bytes archived (0 for directories and skipped items). */
  readonly size: number;
  /** Why an item was skipped. */
  readonly note?: string;
}

/** A snapshot with its entry list. */
export interface NodeWalletSnapshot extends WalletSnapshot {
  /** Everything found in the data directory, including what was skipped and why. */
  readonly items: readonly SnapshotItem[];
  /** Total bytes of the archived files and databases (before archiving). */
  readonly bytes: number;
}

/** Which files must be SQLite databases (docs/WALLET.md §1). */
export interface WalletShape {
  /** Declared by the app: each must be present and sound. */
  readonly required: readonly string[];
  /** Held a database in the last backup: each, if present, must be sound. */
  readonly known: readonly string[];
  /** Whether a database's usual name marks a file as one (off once the app declares). */
  readonly byName: boolean;
}

/** What `takeSnapshot` needs. */
export interface SnapshotOptions {
  readonly dataDir: string;
  readonly tmpDir: string;
  readonly kind: ArchiveKind;
  readonly clock: Clock;
  readonly freeSpace: FreeSpaceProbe;
  /** Bytes always left free on the temp filesystem. */
  readonly reserveBytes: number;
  readonly busyTimeoutMs: number;
  readonly shape: WalletShape;
  readonly signal?: AbortSignal;
  /** Bytes copied so far of the total the walk found, before each item and at the end. */
  readonly onProgress?: ((bytes: number, totalBytes: number) => void) | undefined;
}

/**
 * Takes the snapshot. Free space in `tmpDir` is checked before anything is written (the
 * data's size, counting each database's WAL, plus `reserveBytes`). The temp directory is
 * removed on any failure; on success the caller removes it with `cleanup()`; the temp
 * directories of snapshots whose process was killed are removed first.
 * @throws NoahError `not_a_wallet` if the data directory is missing, empty, holds no
 *   database or lacks a required one; `corrupt_wallet_database` if a file that should be
 *   a database is not one, SQLite finds one malformed, or a copy fails
 *   `PRAGMA integrity_check`; `insufficient_space`; SQLite and I/O errors
 */
export async function takeSnapshot(o: SnapshotOptions): Promise<NodeWalletSnapshot> {
  throwIfAborted(o.signal);
  const walked = await walkWallet(o.dataDir, o.shape);
  // A database's copy can be as large as the file plus its WAL's committed pages.
  const needed = walked.reduce((n, i) => n + (i.kind === 'skipped' ? 0 : i.size), 0);
  await fsp.mkdir(o.tmpDir, { recursive: true });
  await removeLeftoversOfGone(o.tmpDir, SNAPSHOT_NAME); // before counting free space
  await ensureFreeSpace(o.freeSpace, o.tmpDir, needed + o.reserveBytes, 'snapshot');

  const tmp = await fsp.mkdtemp(join(o.tmpDir, `noah-snapshot-${process.pid}-`));
  try {
    const items: SnapshotItem[] = [];
    const entries: ArchiveInput[] = [];
    const databases: string[] = [];
    let bytes = 0;
    let done = 0;
    for (const [index, item] of walked.entries()) {
      throwIfAborted(o.signal);
      if (item.kind === 'directory') {
        items.push({ path: item.path, kind: 'directory', size: 0 });
        entries.push({ type: 'directory', name: item.path });
        continue;
      }
      // (`damaged` never reaches here: walkWallet refused it.)
      if (item.kind !== 'database' && item.kind !== 'file') {
        items.push({ path: item.path, kind: 'skipped', size: 0, note: item.note ?? 'skipped' });
        continue;
      }
      // Said before the copy: a database's VACUUM INTO holds the event loop while it runs.
      o.onProgress?.(Math.min(done, needed), needed);
      done += item.size;
      const copy = join(tmp, `${index}.${item.kind === 'database' ? 'db' : 'bin'}`);
      const copied = await copyItem(item.abs, item.path, copy, item.kind, o.busyTimeoutMs);
      if (!copied) {
        items.push({ path: item.path, kind: 'skipped', size: 0, note: 'vanished during snapshot' });
        continue;
      }
      if (item.kind === 'database') {
        checkCopy(copy, item.path);
        databases.push(item.path);
      }
      const size = (await fsp.stat(copy)).size;
      bytes += size;
      items.push({ path: item.path, kind: item.kind, size });
      entries.push({
        type: 'file',
        name: item.path,
        size,
        body: () => createReadStream(copy, { highWaterMark: READ_CHUNK }),
      });
    }
    o.onProgress?.(needed, needed);
    const mtime = o.clock.now();
    const archive = writeArchive(o.kind, entries, mtime, o.signal);
    let cleaned: Promise<void> | undefined;
    return {
      archive,
      entries: entries.filter((e) => e.type === 'file').length,
      databases,
      items,
      bytes,
      cleanup() {
        cleaned ??= removeTree(tmp);
        return cleaned;
      },
    };
  } catch (e) {
    await removeTree(tmp);
    throw mapSpaceError(e, 'snapshot');
  }
}

/**
 * Walks the data directory and refuses what is no wallet, or a damaged one, before
 * anything is copied.
 */
export async function walkWallet(dataDir: string, shape: WalletShape): Promise<WalkItem[]> {
  const st = await fsp.stat(dataDir).catch(() => undefined);
  if (!st?.isDirectory())
    throw notAWallet(
      `${dataDir} ${st ? 'is not a directory' : 'does not exist'}: there is no wallet to back up`,
    );
  const walked = await walkDataDir(dataDir, {
    expected: new Set([...shape.required, ...shape.known]),
    byName: shape.byName,
  });
  const damaged = walked.find((i) => i.kind === 'damaged');
  if (damaged) throw corruptWalletDatabase(damaged.path, damaged.note ?? 'not a SQLite database');
  const present = new Set(walked.filter((i) => i.kind === 'database').map((i) => i.path));
  const missing = shape.required.find((p) => !present.has(p));
  if (missing !== undefined)
    throw notAWallet(`the wallet database ${missing} is missing from ${dataDir}`);
  if (present.size === 0)
    throw notAWallet(
      walked.length === 0
        ? `${dataDir} is empty: there is no wallet to back up`
        : `${dataDir} holds no SQLite database, so it is no wallet data directory`,
    );
  return walked;
}

/** Copies one item into the temp dir; false if the file vanished before it was copied. */
async function copyItem(
  src: string,
  label: string,
  dest: string,
  kind: 'database' | 'file',
  busyTimeoutMs: number,
): Promise<boolean> {
  try {
    if (kind === 'database') {
      try {
        vacuumInto(src, dest, busyTimeoutMs);
      } catch (e) {
        // Damage SQLite finds while copying (a malformed page, a broken header) is the
        // wallet's, not an I/O failure of ours.
        if (isCorruption(e))
          throw corruptWalletDatabase(label, `SQLite: ${(e as Error).message}`, e);
        throw e;
      }
    }
    // copyFile streams in the kernel (copy_file_range): constant memory.
    else await fsp.copyFile(src, dest);
    await fsp.chmod(dest, 0o600);
    return true;
  } catch (e) {
    // The wallet deleted it between the walk and the copy: not an error.
    if (!(await pathExists(src))) return false;
    throw e;
  }
}

/**
 * Runs the restore's own integrity check on a database copy: a copy that would fail it
 * at restore time is refused now, before it can replace a good backup.
 * @throws NoahError `corrupt_wallet_database` (the label only, never content)
 */
export function checkCopy(copy: string, label: string): void {
  try {
    integrityCheck(copy, label);
  } catch (e) {
    throw corruptWalletDatabase(label, 'it fails PRAGMA integrity_check', e);
  }
}
