/**
 * Reads a live database and its WAL index (`<db>-shm`) beside SQLite's connections of
 * this same process, without closing a descriptor of either while it matters
 * (docs/WALLET.md §5).
 *
 * SQLite's locks are POSIX advisory locks, on the database file (every connection of a
 * WAL-mode database holds a shared one) and on `-shm` (a read transaction's mark), and
 * POSIX releases ALL of a process's locks on a file when the process closes ANY
 * descriptor of it. An open-read-close would silently drop the locks of a transaction
 * this process holds (a pinned snapshot, a running check): a checkpoint could then
 * overwrite pages it is reading, and the wallet closing its last connection could
 * delete the WAL under it. So each file is opened once and its descriptor kept while the
 * path names it; one whose file was replaced (a restore's swap) is closed once nothing
 * of ours holds it. (`-wal` carries no locks: it is opened and closed as usual.)
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

interface Kept {
  fd: number;
  dev: number;
  ino: number;
  holds: number;
  /** The path names another file now: close once no hold is left. */
  retired: boolean;
}

const kept = new Map<string, Kept>();

function retire(k: Kept): void {
  k.retired = true;
  if (k.holds === 0) closeSync(k.fd);
}

function current(path: string): Kept | undefined {
  let now: { dev: number; ino: number };
  try {
    now = statSync(path);
  } catch {
    return undefined;
  }
  const known = kept.get(path);
  if (known && known.dev === now.dev && known.ino === now.ino) return known;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  const st = fstatSync(fd);
  if (known) retire(known);
  const k: Kept = { fd, dev: st.dev, ino: st.ino, holds: 0, retired: false };
  kept.set(path, k);
  return k;
}

/** A held descriptor of a file (see the module comment). */
export interface HeldFile {
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
  /** Ends this hold; the descriptor stays open unless its file was replaced. Idempotent. */
  release(): void;
}

/**
 * Holds the kept descriptor of `path` (a database or its `-shm`); undefined if there is no
 * such file.
 */
export function holdFile(path: string): HeldFile | undefined {
  const k = current(path);
  if (!k) return undefined;
  k.holds++;
  let released = false;
  return {
    fd: k.fd,
    dev: k.dev,
    ino: k.ino,
    release() {
      if (released) return;
      released = true;
      k.holds--;
      if (k.retired && k.holds === 0) closeSync(k.fd);
    },
  };
}

/** The first `length` bytes of the WAL index of database `path`, or undefined. */
export function readWalIndex(path: string, length: number): Buffer | undefined {
  const k = current(`${path}-shm`);
  if (!k) return undefined;
  const b = Buffer.alloc(length);
  return readSync(k.fd, b, 0, length, 0) === length ? b : undefined;
}
