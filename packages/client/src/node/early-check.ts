/**
 * The integrity check of a wallet's database started when the `backup` command starts,
 * before its keys are derived and its lock taken (docs/WALLET.md §5): the check of a
 * WAL-mode database is the daily backup's critical path (about 600 ms of a 100 MiB
 * wallet's 0.85 s on an Intel Xeon), and it needs nothing but the file.
 *
 * It only reads. The snapshot taken later, under the lock, adopts it when both are
 * proven to see one state: the same file (device and inode) and the same WAL-index
 * header, the check's own proven as the snapshot's is (the header unchanged once its
 * read transaction is held). A commit, a checkpoint that resets the WAL or a restore's
 * swap in between makes the headers or the files differ: the early check is stopped and
 * the snapshot starts its own, as without it.
 * @module
 */
import { accessSync, constants, promises as fsp, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SQLITE_HEADER } from './fs-util.ts';
import { type LiveCheck, startLiveIntegrityCheck, walIndexHeader } from './sqlite.ts';
import { holdFile } from './wal-index.ts';

interface Early {
  readonly dev: number;
  readonly ino: number;
  readonly header: Buffer;
  readonly check: LiveCheck;
  readonly proven: Promise<boolean>;
}

const early = new Map<string, Early>();

/**
 * Starts the check of the largest WAL-mode SQLite database directly in `dataDir`, if
 * any; best effort (nothing found, nothing started). Its thread keeps the process
 * alive until it ends or {@link stopEarlyChecks}.
 * @returns true if a check was started
 */
export async function startEarlyCheck(dir: string, busyTimeoutMs = 5000): Promise<boolean> {
  // Absolute, as the snapshot names the file it asks for (wallet.ts resolves its dataDir).
  const dataDir = resolve(dir);
  try {
    let best: { abs: string; name: string; size: number } | undefined;
    for (const e of await fsp.readdir(dataDir, { withFileTypes: true })) {
      if (!e.isFile() || e.name.endsWith('-shm') || e.name.endsWith('-wal')) continue;
      const abs = join(dataDir, e.name);
      const st = statSync(abs, { throwIfNoEntry: false });
      if (!st || (best && st.size <= best.size)) continue;
      if (!statSync(`${abs}-shm`, { throwIfNoEntry: false })?.isFile()) continue;
      best = { abs, name: e.name, size: st.size };
    }
    if (!best) return false;
    // A -shm SQLite would ignore (not writable here) proves nothing: wal-image.ts.
    accessSync(`${best.abs}-shm`, constants.W_OK);
    // Sniffed through the kept descriptor: closing one would drop SQLite's locks.
    const file = holdFile(best.abs);
    if (!file) return false;
    const start = Buffer.alloc(SQLITE_HEADER.length);
    let isDb: boolean;
    try {
      isDb = readSync(file.fd, start, 0, start.length, 0) === start.length;
    } finally {
      file.release();
    }
    isDb &&= start.equals(SQLITE_HEADER);
    if (!isDb) return false;
    const header = walIndexHeader(best.abs);
    if (!header) return false;
    const check = startLiveIntegrityCheck(best.abs, best.name, header, busyTimeoutMs);
    // Its state is `header`'s when the header is unchanged once it pinned, the file the same.
    const proven = check.pinned
      .then((pinned) => {
        const now = statSync(best.abs, { throwIfNoEntry: false });
        return (
          pinned &&
          now?.dev === file.dev &&
          now.ino === file.ino &&
          walIndexHeader(best.abs)?.equals(header) === true
        );
      })
      .catch(() => false);
    early.get(best.abs)?.check.stop();
    early.set(best.abs, { dev: file.dev, ino: file.ino, header, check, proven });
    return true;
  } catch {
    return false; // best effort: the snapshot checks as without it
  }
}

/**
 * The early check of `abs`, if it is of this file and this pinned header; any other
 * early check of `abs` is stopped. Taken once.
 */
export function takeEarlyCheck(
  abs: string,
  file: { dev: number; ino: number },
  header: Buffer,
): (LiveCheck & { proven: Promise<boolean> }) | undefined {
  const e = early.get(abs);
  if (!e) return undefined;
  early.delete(abs);
  if (e.dev !== file.dev || e.ino !== file.ino || !e.header.equals(header)) {
    e.check.stop();
    return undefined;
  }
  return { ...e.check, proven: e.proven };
}

/** Stops the early checks no snapshot took (a backup refused, or one of another kind). */
export function stopEarlyChecks(): void {
  for (const e of early.values()) e.check.stop();
  early.clear();
}
