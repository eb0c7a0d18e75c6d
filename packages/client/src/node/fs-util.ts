/**
 * Small filesystem helpers for the Node adapters: durable writes (fsync of files and
 * directories), SQLite detection by header, and the free-space probe: what a careful
 * restore needs (write to a temp place, fsync, verify, rename atomically:
 * docs/WALLET.md §3).
 * @module
 */
import { promises as fsp, read, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NoahError } from '@noah-backup/core/errors';

/**
 * Reports the bytes available to this (unprivileged) process on the filesystem holding
 * `dir`. A platform probe: tests inject a fake one to simulate a full disk.
 */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

/** The real probe: `statfs(2)` → `bavail × bsize`. */
export const statfsFreeBytes: FreeSpaceProbe = async (dir) => {
  const s = await fsp.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/** The 16-byte header every SQLite 3 database file starts with (SQLite file format §1.3). */
export const SQLITE_HEADER = new TextEncoder().encode('SQLite format 3\0');

/**
 * True if the file at `path` starts with the SQLite 3 header. Detection is by content,
 * never by extension.
 * @param path - a regular file
 */
export async function hasSqliteHeader(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = new Uint8Array(SQLITE_HEADER.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead !== buf.length) return false;
    return buf.every((b, i) => b === SQLITE_HEADER[i]);
  } finally {
    await fh.close();
  }
}

/**
 * Flushes a directory's entries (creations, renames, unlinks inside it) to disk.
 * @param dir - an existing directory
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Bytes a {@link batchedWriter} gathers before it issues one `writev`. */
export const WRITE_BATCH_BYTES = 1024 * 1024;

/** A sequential writer that batches small chunks and overlaps disk writes with the producer. */
export interface BatchedWriter {
  /**
   * Queues `chunk` (kept by reference until written: the caller must not reuse it).
   * Resolves at once while less than a batch is gathered; otherwise after the previous
   * batch is on disk, having issued this one. So at most two batches are held.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes whatever is gathered and waits for every write to finish. */
  flush(): Promise<void>;
  /** After a failure: drops what is gathered and waits for the write in flight, if any. */
  abandon(): Promise<void>;
}

/**
 * Wraps `fh` (opened for writing at its current position) in a {@link BatchedWriter}: one
 * `writev` per ~1 MiB instead of one `write` per chunk, and the next batch is gathered
 * while the previous one is being written (one thread-pool round trip per 64 KiB chunk
 * left a restore's writes latency-bound). The first write error is thrown by the next
 * `write` or by `flush`.
 * @param fh - an open file
 * @param batchBytes - gather this many bytes per `writev` (default 1 MiB)
 * @example
 * ```ts
 * const out = batchedWriter(fh);
 * for await (const chunk of source) await out.write(chunk);
 * await out.flush();
 * await fh.sync();
 * ```
 */
export function batchedWriter(fh: FileHandle, batchBytes = WRITE_BATCH_BYTES): BatchedWriter {
  let parts: Uint8Array[] = [];
  let gathered = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const issue = async (batch: Uint8Array[], bytes: number) => {
    const { bytesWritten } = await fh.writev(batch);
    if (bytesWritten === bytes) return;
    // A partial writev (rare for regular files): write the rest chunk by chunk.
    let skip = bytesWritten;
    for (const part of batch) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      await writeAll(fh, part.subarray(skip));
      skip = 0;
    }
  };
  const send = async () => {
    const batch = parts;
    const bytes = gathered;
    parts = [];
    gathered = 0;
    await inFlight; // one writev at a time: writes at the file position stay in order
    inFlight = issue(batch, bytes);
    // Observed by the next `write` or `flush`; never an unhandled rejection meanwhile.
    inFlight.catch(() => {});
  };
  return {
    async write(chunk) {
      if (chunk.length === 0) return;
      parts.push(chunk);
      gathered += chunk.length;
      if (gathered >= batchBytes) await send();
    },
    async flush() {
      if (gathered > 0) await send();
      await inFlight;
    },
    async abandon() {
      parts = [];
      gathered = 0;
      await inFlight.catch(() => {});
    },
  };
}

/**
 * Writes all of `chunk` at the file handle's position (a single `write` may be partial).
 * @param fh - an open file
 * @param chunk - the bytes
 */
export async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

/** Removes a file or directory tree; a missing path is not an error. */
export async function removeTree(path: string): Promise<void> {
  await fsp.rm(path, { recursive: true, force: true, maxRetries: 3 });
}

/** True if `path` exists (without following a final symlink). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

/** True if `e` is a Node system error with the given `code` (e.g. `ENOENT`). */
export function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/** Human-readable byte count for error messages. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Throws `NoahError('insufficient_space')` unless the filesystem holding `dir` has at
 * least `needed` bytes available. Called before anything is written: a shortage is a
 * clear error, not a half-written file.
 * @param probe - the free-space probe
 * @param dir - an existing directory on the target filesystem
 * @param needed - bytes required
 * @param what - what the space is for, for the message ("snapshot", "restore")
 * @throws NoahError `insufficient_space`
 */
export async function ensureFreeSpace(
  probe: FreeSpaceProbe,
  dir: string,
  needed: number,
  what: string,
): Promise<void> {
  const free = await probe(dir);
  if (free < needed)
    throw new NoahError(
      'insufficient_space',
      `not enough free disk space for the ${what}: need about ${formatBytes(needed)}, ` +
        `${formatBytes(Math.max(0, free))} available in ${dir}`,
    );
}

/** Maps `ENOSPC`/`EDQUOT` from a write to `insufficient_space`; other errors pass through. */
export function mapSpaceError(e: unknown, what: string): unknown {
  if (isErrno(e, 'ENOSPC') || isErrno(e, 'EDQUOT'))
    return new NoahError('insufficient_space', `the disk filled up during the ${what}`, {
      cause: e,
    });
  return e;
}

/** Resolves when a writable (an HTTP request body) can take more data, or is closed. */
export function drained(w: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}

/**
 * Reads of at most this many bytes are synchronous: a few pages in the page cache take
 * microseconds, less than a trip through the thread pool.
 */
const SYNC_READ_MAX = 64 * 1024;

const readAsync = promisify(read);

/**
 * Fills `buf` from `fd` at `position` as far as the file goes (synchronously for small
 * reads, else through the thread pool); `check` runs before each read.
 * @returns the bytes read: fewer than `buf.length` only at the end of the file
 */
export async function readAt(
  fd: number,
  buf: Uint8Array,
  position: number,
  check?: () => void,
): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    check?.();
    const want = buf.length - filled;
    const n =
      buf.length <= SYNC_READ_MAX
        ? readSync(fd, buf, filled, want, position + filled)
        : (await readAsync(fd, buf, filled, want, position + filled)).bytesRead;
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/**
 * Streams bytes [position, position + length) in chunks of at most `chunk` bytes, each
 * filled by `fill`: fresh buffers, or with `transient` views of one buffer reused for
 * every chunk (a digest pass over a 1 GiB database otherwise leaves 4,096 buffers of
 * garbage behind).
 */
export async function* chunkedReads(
  position: number,
  length: number,
  chunk: number,
  transient: boolean,
  fill: (buf: Uint8Array, at: number) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  const end = position + length;
  const shared = transient ? new Uint8Array(Math.min(chunk, length)) : undefined;
  for (let at = position; at < end; ) {
    const n = Math.min(chunk, end - at);
    const buf = shared ? shared.subarray(0, n) : new Uint8Array(n);
    await fill(buf, at);
    at += n;
    yield buf;
  }
}
