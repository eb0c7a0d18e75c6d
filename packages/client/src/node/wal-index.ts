/**
 * Reads a live database and its WAL index (`<db>-shm`) beside SQLite's connections of
 * this same process, without ever closing a descriptor of either (docs/WALLET.md §5).
 *
 * SQLite's locks are POSIX advisory locks, on the database file (every connection of a
 * WAL-mode database holds a shared one) and on `-shm` (a read transaction's mark), and
 * POSIX releases ALL of a process's locks on a file when the process closes ANY
 * descriptor of it. An open-read-close would silently drop the locks of a transaction
 * this process holds (a pinned snapshot, a running check): a checkpoint could then
 * overwrite pages it is reading, and the wallet closing its last connection could
 * delete the WAL under it. So each file is opened once and its descriptor kept for the
 * life of the process: one per file (a new one only if the file was replaced), a few
 * per process. (`-wal` carries no locks: it is opened and closed as usual.)
 * @module
 */
import { fstatSync, openSync, readSync, statSync } from 'node:fs';

const open = new Map<string, { fd: number; dev: number; ino: number }>();

/**
 * A read-only descriptor of `path` (a database or its `-shm`), kept open for the life of
 * the process; a new one when the file is not the one opened before. Undefined if there
 * is no such file.
 */
export function keptDescriptor(path: string): number | undefined {
  let now: { dev: number; ino: number };
  try {
    now = statSync(path);
  } catch {
    return undefined;
  }
  const known = open.get(path);
  if (known && known.dev === now.dev && known.ino === now.ino) return known.fd;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  const st = fstatSync(fd);
  // The replaced file's descriptor stays open too: closing it would drop the locks of any
  // connection of this process still using that file.
  open.set(path, { fd, dev: st.dev, ino: st.ino });
  return fd;
}

/** The first `length` bytes of the WAL index of database `path`, or undefined. */
export function readWalIndex(path: string, length: number): Buffer | undefined {
  const fd = keptDescriptor(`${path}-shm`);
  if (fd === undefined) return undefined;
  const b = Buffer.alloc(length);
  return readSync(fd, b, 0, length, 0) === length ? b : undefined;
}
