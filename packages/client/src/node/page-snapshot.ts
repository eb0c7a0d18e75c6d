/**
 * The page-stable snapshot of incremental backups (docs/FORMAT.md §8.8): the same walk
 * and refusals as `snapshot.ts`, each database at its live page numbers, so the next
 * backup can send only the pages whose digest changed. A WAL-mode database is read in
 * place in one pinned read transaction (`wal-image.ts`), with its check on the live
 * database when proven to see the pinned state, else on a copy of that state; any other
 * database is copied with SQLite's online backup API in one step (`backupCopy`). Every
 * `PRAGMA integrity_check` runs on a worker thread while the pipeline reads, seals and
 * uploads (`checked`); the pipeline completes the backup only once it passed, so a
 * damaged wallet never replaces a good backup (docs/WALLET.md §5).
 * @module
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePaths } from '@noah-backup/core/paths';
import type { PageSnapshot, PageSnapshotItem } from '../ports.ts';
import { corruptWalletDatabase } from '../wallet-refusals.ts';
import {
  chunkedReads,
  ensureFreeSpace,
  type FreeSpaceProbe,
  mapSpaceError,
  pathExists,
  readAt,
  removeTree,
} from './fs-util.ts';
import { removeLeftoversOfGone } from './process.ts';
// The archive snapshot's name, so leftovers of a killed run are swept alike.
import { SNAPSHOT_NAME, type WalletShape, walkWallet } from './snapshot.ts';
import {
  backupCopy,
  backupCopyChecked,
  type CopyCheck,
  isCorruption,
  type RunningCheck,
  startIntegrityCheck,
  startLiveIntegrityCheck,
} from './sqlite.ts';
import { takeEarlyCheck } from './early-check.ts';
import { pinWalImage, type WalImage } from './wal-image.ts';
import { throwIfAborted } from '../errors.ts';

/**
 * Read size of the copies: 256 KiB, a multiple of every page size. 1 MiB reads leave
 * more garbage buffers alive between collections (peak RSS of a 300 MB wallet's full
 * backup: 120.0 MiB with 1 MiB reads, 112.6 MiB with 256 KiB).
 */
const READ_CHUNK = 256 * 1024;

/** What `takePageSnapshot` needs. */
export interface PageSnapshotOptions {
  readonly dataDir: string;
  readonly tmpDir: string;
  readonly freeSpace: FreeSpaceProbe;
  readonly reserveBytes: number;
  readonly busyTimeoutMs: number;
  readonly shape: WalletShape;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((bytes: number, totalBytes: number) => void) | undefined;
}

/** A page snapshot, saying where each database's integrity check ran. */
export interface NodePageSnapshot extends PageSnapshot {
  /**
   * The databases whose check ran on the live database beside the copy, proven to have
   * seen the copy's state (`backupCopyChecked`); the others' ran on their copy.
   */
  readonly checkedLive: readonly string[];
  /** Of those, the databases whose check had started with the command (`early-check.ts`). */
  readonly checkedEarly: readonly string[];
}

/** SQLite's page size, from the header (bytes 16–17; 1 means 65,536). */
async function pageSizeOf(path: string): Promise<number> {
  const fh = await fsp.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 16);
    const v = b.readUInt16BE(0);
    return v === 1 ? 65_536 : v;
  } finally {
    await fh.close();
  }
}

/**
 * Takes the snapshot into a fresh temp directory under `tmpDir` (removed on failure;
 * on success by `cleanup()`).
 * @throws as `takeSnapshot`: `not_a_wallet`, `corrupt_wallet_database`,
 *   `insufficient_space`; SQLite and I/O errors
 */
export async function takePageSnapshot(o: PageSnapshotOptions): Promise<NodePageSnapshot> {
  throwIfAborted(o.signal);
  const walked = await walkWallet(o.dataDir, o.shape);
  const needed = walked.reduce((n, i) => n + (i.kind === 'skipped' ? 0 : i.size), 0);
  await fsp.mkdir(o.tmpDir, { recursive: true });
  await removeLeftoversOfGone(o.tmpDir, SNAPSHOT_NAME);
  await ensureFreeSpace(o.freeSpace, o.tmpDir, needed + o.reserveBytes, 'snapshot');
  const tmp = await fsp.mkdtemp(join(o.tmpDir, `noah-snapshot-${process.pid}-`));
  const checks = new Checks();
  const images = new Map<string, WalImage>();
  const closeImages = () => Promise.allSettled([...images.values()].map((i) => i.close()));
  try {
    const items: PageSnapshotItem[] = [];
    const copies = new Map<string, string>();
    const proofs: Promise<unknown>[] = [];
    const databases: string[] = [];
    const checkedLive: string[] = [];
    const checkedEarly: string[] = [];
    let bytes = 0;
    let done = 0;
    for (const [index, item] of walked.entries()) {
      throwIfAborted(o.signal);
      if (item.kind === 'directory') {
        items.push({ type: 'directory', path: item.path });
        continue;
      }
      if (item.kind !== 'database' && item.kind !== 'file') continue;
      o.onProgress?.(Math.min(done, needed), needed);
      done += item.size;
      const copy = join(tmp, `${index}.${item.kind === 'database' ? 'db' : 'bin'}`);
      // A live WAL-mode database is read in place, in one pinned read transaction, when
      // no other check runs (docs/WALLET.md §5); `copy` is then only its check's fallback.
      if (item.kind === 'database' && checks.idle) {
        const image = await pinItem(item.abs, item.path, o.busyTimeoutMs);
        if (image === false) continue;
        if (image) {
          images.set(item.path, image);
          const check = pinnedCheck(image, item.abs, item.path, copy, o.busyTimeoutMs);
          checks.addLive(check, item.path);
          proofs.push(
            check.proven.then((live) => {
              if (live) checkedLive.push(item.path);
              if (live && check.early) checkedEarly.push(item.path);
            }),
          );
          bytes += image.pageCount * image.pageSize;
          const { pageSize, pageCount } = image;
          items.push({ type: 'database', path: item.path, pageSize, pageCount });
          databases.push(item.path);
          continue;
        }
      }
      // The live check only while no other check runs (one check's thread and cache).
      const made = await copyItem(
        item.abs,
        item.path,
        copy,
        item.kind,
        o.busyTimeoutMs,
        checks.idle,
      );
      if (!made) continue;
      const live = typeof made === 'object' ? made.live : undefined;
      if (live) checks.addLive(live, item.path); // stopped with the rest if a step below throws
      const size = (await fsp.stat(copy)).size;
      bytes += size;
      copies.set(item.path, copy);
      if (item.kind === 'file') {
        items.push({ type: 'file', path: item.path, size });
        continue;
      }
      const pageSize = await pageSizeOf(copy);
      if (size === 0 || size % pageSize !== 0)
        throw corruptWalletDatabase(item.path, 'its copy is not a whole number of pages');
      if (live) checkedLive.push(item.path);
      else checks.add(copy, item.path, typeof made === 'object' ? made.idle : undefined);
      items.push({ type: 'database', path: item.path, pageSize, pageCount: size / pageSize });
      databases.push(item.path);
    }
    // Whether each pinned check stands for its image is known once it pinned (tens of ms).
    await Promise.all(proofs);
    o.onProgress?.(needed, needed);
    items.sort((a, b) => comparePaths(a.path, b.path));
    let cleaned: Promise<void> | undefined;
    const files = new OpenCopies();
    return {
      items,
      databases,
      bytes,
      checkedLive,
      checkedEarly,
      checked: checks.done(),
      read: (path, position, length, opts) => {
        const image = images.get(path);
        if (image) return image.read(position, length, opts?.transient === true);
        const copy = copies.get(path);
        if (copy === undefined) throw new RangeError(`${path} is not in the snapshot`);
        return readRange(files.open(copy), position, length, opts?.transient === true);
      },
      cleanup() {
        checks.stop();
        cleaned ??= Promise.all([files.close(), closeImages()]).then(() => removeTree(tmp));
        return cleaned;
      },
    };
  } catch (e) {
    checks.stop();
    await closeImages();
    await removeTree(tmp);
    throw mapSpaceError(e, 'snapshot');
  }
}

/**
 * The integrity checks of a snapshot's copies, one at a time (one worker thread and one
 * check's page cache at once), the first starting as soon as its copy is made.
 */
export class Checks {
  #running: RunningCheck | undefined;
  /** Live checks run from the start, queued or not: a failure before them must stop them. */
  readonly #live = new Set<RunningCheck>();
  #stopped = false;
  #pending = 0;
  #tail: Promise<void> = Promise.resolve();

  /** True when no check is queued or running. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** Checks `copy` once the checks before it (and `after`) are done. */
  add(copy: string, label: string, after?: Promise<void>): void {
    this.#queue(label, async () => {
      await after;
      if (this.#stopped) throw new Error('the snapshot was cleaned up');
      return startIntegrityCheck(copy, label);
    });
  }

  /** Counts a check already running (of the live database) as this copy's. */
  addLive(running: RunningCheck, label: string): void {
    this.#live.add(running);
    if (this.#stopped) running.stop();
    this.#queue(label, async () => {
      if (this.#stopped) running.stop();
      return running;
    });
  }

  #queue(label: string, start: () => Promise<RunningCheck>): void {
    this.#pending++;
    this.#tail = this.#tail.then(async () => {
      try {
        this.#running = await start();
        await this.#running.done;
      } catch (e) {
        throw corruptWalletDatabase(label, 'it fails PRAGMA integrity_check', e);
      } finally {
        this.#pending--;
      }
    });
    this.#tail.catch(() => {}); // reported through done()
  }

  /** Resolves once every copy added passed its check; rejects with the first failure. */
  done(): Promise<void> {
    return this.#tail;
  }

  stop(): void {
    this.#stopped = true;
    this.#running?.stop();
    for (const live of this.#live) live.stop();
  }
}

/**
 * Each copy opened once for the snapshot's reads, however many: a daily backup's packs
 * read about a thousand runs of a few pages each, and an open, read and close apiece
 * cost three trips through libuv's thread pool (900 runs of a 100 MB copy: 35-156 ms
 * that way, 3-4 ms with one handle and synchronous reads; Intel Xeon, loaded).
 */
class OpenCopies {
  readonly #handles = new Map<string, Promise<FileHandle>>();

  open(path: string): Promise<FileHandle> {
    let h = this.#handles.get(path);
    if (!h) {
      h = fsp.open(path, 'r');
      h.catch(() => {}); // reported by the read that awaits it
      this.#handles.set(path, h);
    }
    return h;
  }

  async close(): Promise<void> {
    const all = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.allSettled(all.map(async (h) => (await h).close()));
  }
}

/**
 * Streams `length` bytes of an open copy from `position`, in chunks of at most 256 KiB
 * (fresh, or views of one buffer with `transient`: `chunkedReads`).
 */
async function* readRange(
  file: Promise<FileHandle>,
  position: number,
  length: number,
  transient: boolean,
): AsyncGenerator<Uint8Array> {
  const fh = await file;
  yield* chunkedReads(position, length, READ_CHUNK, transient, async (buf, at) => {
    if ((await readAt(fh.fd, buf, at)) < buf.length)
      throw new Error('a snapshot copy is shorter than it was');
  });
}

/** {@link pinWalImage} of one database; false if it vanished, undefined: copy it. */
async function pinItem(
  src: string,
  label: string,
  busyTimeoutMs: number,
): Promise<WalImage | undefined | false> {
  try {
    return await pinWalImage(src, busyTimeoutMs);
  } catch (e) {
    if (isCorruption(e)) throw corruptWalletDatabase(label, `SQLite: ${(e as Error).message}`, e);
    if (!(await pathExists(src))) return false;
    throw e;
  }
}

/**
 * The integrity check of a pinned image: on the live database, standing for the image
 * when the check's read transaction is proven to see the pinned state (the WAL-index
 * header still the pinned one once it pinned: no commit came between); else the pinned
 * state is copied through the image's own transaction (SQLite's backup API) to `copy`,
 * and the copy is checked. Either way what passed is what the image reads.
 */
function pinnedCheck(
  image: WalImage,
  src: string,
  label: string,
  copy: string,
  busyTimeoutMs: number,
): RunningCheck & { proven: Promise<boolean>; early: boolean } {
  // One started when the command started, when it is of this file and this state.
  const early = takeEarlyCheck(src, image, image.header);
  const live = early ?? startLiveIntegrityCheck(src, label, image.header, busyTimeoutMs);
  // Decided as soon as the check says it pinned: a later commit must not matter. A
  // header that cannot be read proves nothing: the copy is checked.
  const proven =
    early?.proven ?? live.pinned.then((pinned) => pinned && image.unchanged()).catch(() => false);
  let fallback: RunningCheck | undefined;
  let stopped = false;
  const done = (async () => {
    if (await proven) return live.done;
    live.stop();
    await live.ended;
    if (stopped) throw new Error('the snapshot was cleaned up');
    await image.db.backup(copy, { progress: () => 0x7fffffff });
    await fsp.chmod(copy, 0o600);
    fallback = startIntegrityCheck(copy, label);
    if (stopped) fallback.stop();
    return fallback.done;
  })();
  done.catch(() => {}); // awaited through the queue of checks, or dropped when stopped
  return {
    done,
    proven,
    early: early !== undefined,
    ended: (async () => {
      await live.ended;
      await done.catch(() => {});
      await fallback?.ended;
    })(),
    stop() {
      stopped = true;
      live.stop();
      fallback?.stop();
    },
  };
}

/**
 * Copies one item; false if it vanished before it was copied (as `snapshot.ts`). A
 * database copied with `live` says where its check runs (`backupCopyChecked`).
 */
async function copyItem(
  src: string,
  label: string,
  dest: string,
  kind: 'database' | 'file',
  busyTimeoutMs: number,
  live: boolean,
): Promise<CopyCheck | boolean> {
  try {
    let made: CopyCheck | boolean = true;
    if (kind === 'database') {
      try {
        if (live) made = await backupCopyChecked(src, dest, busyTimeoutMs, label);
        else await backupCopy(src, dest, busyTimeoutMs);
      } catch (e) {
        if (isCorruption(e))
          throw corruptWalletDatabase(label, `SQLite: ${(e as Error).message}`, e);
        throw e;
      }
    } else await fsp.copyFile(src, dest);
    try {
      await fsp.chmod(dest, 0o600);
    } catch (e) {
      if (typeof made === 'object') made.live?.stop();
      throw e;
    }
    return made;
  } catch (e) {
    if (!(await pathExists(src))) return false;
    throw e;
  }
}
