/**
 * Writes an extracted archive into a fresh directory durably: files created exclusively
 * with mode 0600, directories 0700, every file and directory fsynced. Only regular files
 * and directories are ever created, so nothing written can redirect a later write.
 *
 * The fsync of a large file (about 100 ms for 100 MB here) is deferred: `syncFiles()`
 * issues every deferred fsync at once, on the thread pool, so the caller can run its
 * integrity checks on this thread meanwhile. Nothing may rely on the files being on disk
 * before `syncFiles()` has resolved.
 * @module
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { batchedWriter, fsyncDir, isErrno, mapSpaceError } from './fs-util.ts';
import { unsafeArchive } from '../archive/guards.ts';

/** Called after every `SPACE_CHECK_INTERVAL` bytes written; throws to stop the extraction. */
export type SpaceCheck = (bytesWritten: number) => Promise<void>;

const SPACE_CHECK_INTERVAL = 16 * 1024 * 1024;
/** Files at least this large keep their handle open until `syncFiles()`; smaller ones sync at once. */
const DEFER_SYNC_BYTES = 1024 * 1024;
/** At most this many handles are kept open for a deferred fsync (the rest sync at once). */
const MAX_DEFERRED = 16;

/** Creates files and directories under one root. */
export interface TreeWriter {
  /** Creates the directory `rel` (and its parents). */
  mkdir(rel: string): Promise<void>;
  /**
   * Creates the file `rel` from `chunks` (counted against the limits by the archive
   * reader) and fsyncs it, now or (a large file) in `syncFiles()`.
   */
  writeFile(rel: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void>;
  /**
   * Fsyncs and closes every file whose fsync was deferred. Every fsync is issued before
   * this returns its promise, so they proceed while this thread is busy.
   */
  syncFiles(): Promise<void>;
  /** Fsyncs every directory created, deepest first, then the root (after `syncFiles`). */
  finish(): Promise<void>;
  /** Closes the deferred handles without syncing (after a failure). */
  abandon(): Promise<void>;
}

/**
 * Creates a writer under `root`, which must be a new, empty directory.
 * @param root - the staging or scratch directory
 * @param checkSpace - optional free-space check run as bytes accumulate
 */
export function createTreeWriter(root: string, checkSpace?: SpaceCheck): TreeWriter {
  const dirs = new Set<string>();
  const deferred: FileHandle[] = [];
  let total = 0;
  let nextCheck = SPACE_CHECK_INTERVAL;

  async function ensureDir(rel: string): Promise<void> {
    if (rel === '' || dirs.has(rel)) return;
    const slash = rel.lastIndexOf('/');
    await ensureDir(slash < 0 ? '' : rel.slice(0, slash));
    try {
      await fsp.mkdir(join(root, rel), { mode: 0o700 });
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw mapSpaceError(e, 'extraction');
      // Exists but was not made by us: a name that differs only by case or Unicode
      // normalization on this filesystem.
      throw unsafeArchive('entry names collide on this filesystem', e);
    }
    dirs.add(rel);
  }

  return {
    async mkdir(rel) {
      await ensureDir(rel);
    },
    async writeFile(rel, chunks) {
      const slash = rel.lastIndexOf('/');
      await ensureDir(slash < 0 ? '' : rel.slice(0, slash));
      let fh: FileHandle;
      try {
        fh = await fsp.open(join(root, rel), 'wx', 0o600);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) throw unsafeArchive('entry names collide on this filesystem', e);
        throw mapSpaceError(e, 'extraction');
      }
      const out = batchedWriter(fh);
      const spaceError = (e: unknown) => {
        throw mapSpaceError(e, 'extraction');
      };
      let written = 0;
      try {
        for await (const chunk of chunks) {
          written += chunk.length;
          total += chunk.length;
          await out.write(chunk).catch(spaceError);
          if (checkSpace && total >= nextCheck) {
            nextCheck = total + SPACE_CHECK_INTERVAL;
            await checkSpace(total);
          }
        }
        await out.flush().catch(spaceError);
        if (written >= DEFER_SYNC_BYTES && deferred.length < MAX_DEFERRED) {
          deferred.push(fh);
          return;
        }
        await fh.sync();
      } catch (e) {
        await out.abandon(); // on an error, the write in flight settles before the close
        await fh.close();
        throw e;
      }
      await fh.close();
    },
    async syncFiles() {
      const handles = deferred.splice(0);
      const synced = await Promise.allSettled(handles.map((fh) => fh.sync()));
      await Promise.allSettled(handles.map((fh) => fh.close()));
      for (const r of synced)
        if (r.status === 'rejected') throw mapSpaceError(r.reason, 'extraction');
    },
    async abandon() {
      await Promise.allSettled(deferred.splice(0).map((fh) => fh.close()));
    },
    async finish() {
      const sorted = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
      for (const d of sorted) await fsyncDir(join(root, d));
      await fsyncDir(root);
    },
  };
}
