/**
 * Restore and verify of an incremental backup's tree (docs/FORMAT.md §8.7): the
 * pipeline fills a staging directory through a {@link TreeSink} (positioned writes, in
 * whatever order the packs arrive) and proves every byte against the manifest's digests
 * before it returns; then every file is fsynced and the staging directory swapped in
 * exactly as an archive restore's (`restore.ts`). A database proven byte for byte equal
 * to the snapshot that passed `PRAGMA integrity_check` at backup time needs no second
 * check (docs/WALLET.md §2).
 * @module
 */
import { promises as fsp, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeFill, TreeSink } from '../ports.ts';
import { unsafeArchive } from '../archive/guards.ts';
import {
  ensureFreeSpace,
  type FreeSpaceProbe,
  fsyncDir,
  isErrno,
  mapSpaceError,
  removeTree,
} from './fs-util.ts';
import { removeLeftoversOfGone } from './process.ts';
import type { CheckedArchive, CheckedPaths, RestoredArchive, RestoreOptions } from './restore.ts';
import { restoreStaged } from './restore.ts';
import { throwIfAborted } from '../errors.ts';

/**
 * Bytes written to a database between two early flushes (docs/WALLET.md §3). Flushed
 * only at the end, a 100 MiB database kept the restore waiting about 80 ms for its fsync
 * with nothing else to do; flushed in steps on the thread pool while later packs are
 * still being opened, it leaves the last fsync only its tail (7 ms).
 */
const FLUSH_BYTES = 16 * 1024 * 1024;

/** What filling needs. */
export interface TreeStageOptions {
  readonly freeSpace: FreeSpaceProbe;
  readonly reserveBytes: number;
  readonly signal?: AbortSignal | undefined;
}

/** Fills the empty directory `dir` through `fill`, then fsyncs every file and directory. */
export async function stageTree(
  fill: TreeFill,
  dir: string,
  o: TreeStageOptions,
): Promise<CheckedPaths> {
  const dirs = new Set<string>();
  // A database's handle stays open while its pages arrive (several packs write to it at
  // once: one shared promise, never two opens); a file's is opened for each write.
  const files = new Map<
    string,
    { size: number; fh?: Promise<FileHandle>; unflushed?: number; flushing?: Promise<void> }
  >();
  let entries = 0;
  const databasePaths: string[] = [];
  const withHandle = async (path: string, fn: (fh: FileHandle) => Promise<void>) => {
    const f = files.get(path);
    if (!f) throw new RangeError(`${path} was not created`);
    if (f.fh) return fn(await f.fh);
    const fh = await fsp.open(join(dir, path), 'r+');
    try {
      await fn(fh);
    } finally {
      await fh.close();
    }
  };
  // An early flush of a database: fdatasync on the thread pool, one at a time. Its
  // outcome is awaited before the final fsync: Linux reports a writeback error to one
  // fsync only, so a failed early flush must fail the restore (never a later success).
  const flushEarly = (
    f: { unflushed?: number; flushing?: Promise<void> },
    fh: FileHandle,
    bytes: number,
  ) => {
    f.unflushed = (f.unflushed ?? 0) + bytes;
    if (f.unflushed < FLUSH_BYTES || f.flushing) return;
    f.unflushed = 0;
    const flushing = fh.datasync().finally(() => {
      if (f.flushing === flushing) f.flushing = undefined;
    });
    flushing.catch((e: unknown) => {
      flushError ??= e;
    });
    f.flushing = flushing;
  };
  let flushError: unknown;
  const sink: TreeSink = {
    async mkdir(path) {
      throwIfAborted(o.signal);
      await fsp.mkdir(join(dir, path), { mode: 0o700 }).catch((e: unknown) => {
        if (isErrno(e, 'EEXIST')) throw unsafeArchive('entry names collide on this filesystem', e);
        throw mapSpaceError(e, 'restore');
      });
      dirs.add(path);
    },
    async create(path, size, kind) {
      throwIfAborted(o.signal);
      await ensureFreeSpace(o.freeSpace, dir, size + o.reserveBytes, 'restore');
      let fh: FileHandle;
      try {
        fh = await fsp.open(join(dir, path), 'wx', 0o600);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) throw unsafeArchive('entry names collide on this filesystem', e);
        throw mapSpaceError(e, 'restore');
      }
      await fh.close();
      files.set(path, { size });
      entries++;
      if (kind === 'database') {
        databasePaths.push(path);
        const opened = fsp.open(join(dir, path), 'r+');
        opened.catch(() => {}); // awaited by the first write, or closed at the end
        files.set(path, { size, fh: opened });
      }
    },
    async write(path, position, data) {
      throwIfAborted(o.signal);
      const f = files.get(path);
      if (!f || position < 0 || position + data.length > f.size)
        throw new RangeError(`a write outside ${path}`);
      await withHandle(path, async (fh) => {
        let off = 0;
        while (off < data.length) {
          // Synchronous: a write into the page cache costs less than the thread-pool
          // round trip and promise of an async one (5,400 writes for a 100 MiB wallet;
          // the data is made durable by the early flushes and the fsync before the swap).
          let bytesWritten: number;
          try {
            bytesWritten = writeSync(fh.fd, data, off, data.length - off, position + off);
          } catch (e) {
            throw mapSpaceError(e, 'restore');
          }
          off += bytesWritten;
        }
        if (f.fh) flushEarly(f, fh, data.length);
      });
    },
  };
  try {
    await fill(sink);
    // Every file to disk (a file never written still gets its size), then directories.
    for (const [path, f] of files)
      await withHandle(path, async (fh) => {
        await f.flushing?.catch(() => {});
        if (flushError !== undefined) throw mapSpaceError(flushError, 'restore');
        if ((await fh.stat()).size !== f.size) await fh.truncate(f.size);
        await fh.sync();
      });
    const sorted = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const d of sorted) await fsyncDir(join(dir, d));
    await fsyncDir(dir);
    return { entries, databases: databasePaths.length, databasePaths };
  } finally {
    await Promise.allSettled(
      [...files.values()].map(async (f) => {
        await f.flushing?.catch(() => {});
        await (await f.fh)?.close();
      }),
    );
  }
}

/**
 * Restores a tree into `o.dataDir`: stage with {@link stageTree}, then the swap of
 * `restore.ts` with all its refusals and its recovery.
 * @throws as `restoreArchive`; whatever `fill` throws, unchanged
 */
export function restoreTree(
  fill: TreeFill,
  o: Omit<RestoreOptions, 'kind' | 'limits'>,
): Promise<RestoredArchive> {
  return restoreStaged(async (staging) => {
    const r = await stageTree(fill, staging, o);
    await o.onPhase?.('extracted');
    return r;
  }, o);
}

/**
 * Verifies a tree without restoring it: fills a scratch directory under
 * `scratchParent`, then deletes it.
 * @throws whatever `fill` throws; `insufficient_space`
 */
export async function verifyTree(
  fill: TreeFill,
  scratchParent: string,
  o: TreeStageOptions,
): Promise<CheckedArchive> {
  await fsp.mkdir(scratchParent, { recursive: true });
  await removeLeftoversOfGone(scratchParent, /^noah-verify-(\d+)-/);
  await ensureFreeSpace(o.freeSpace, scratchParent, o.reserveBytes, 'verify');
  const scratch = await fsp.mkdtemp(join(scratchParent, `noah-verify-${process.pid}-`));
  try {
    return await stageTree(fill, scratch, o);
  } finally {
    await removeTree(scratch);
  }
}
