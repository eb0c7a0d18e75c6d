/**
 * The React Native `WalletDataAdapter` and `IncrementalWalletAdapter` (contracts:
 * `@noah-backup/client/ports`): a wallet data directory in the app's storage whose
 * databases the app opens with op-sqlite. Snapshots are the page-stable copies of
 * `./live-copy.ts` (archived for a full backup, read page by page for an incremental
 * one); restores stage beside the wallet, check every database, and swap
 * (`./swap.ts`). docs/REACT-NATIVE.md §8.
 * @module
 */
import { throwIfAborted } from '@noah-backup/client/errors';
import type { Clock } from '@noah-backup/core/clock';
import {
  DEFAULT_LIMITS,
  type ExtractLimits,
  createEntryGuard,
} from '@noah-backup/client/archive/guards';
import { readArchive } from '@noah-backup/client/archive/read';
import { writeArchive } from '@noah-backup/client/archive/write';
import type {
  ArchiveKind,
  IncrementalWalletAdapter,
  TreeFill,
  WalletDataAdapter,
} from '@noah-backup/client/ports';
import { emptyBackup } from '@noah-backup/client/wallet-refusals';
import { joinPath, randomTag, readRange, type RnFiles, splitPath } from './files.ts';
import { takeCopies } from './live-copy.ts';
import type { OpSqliteOpen } from './op-sqlite.ts';
import {
  checkStaged,
  makeStaging,
  recoverSwap,
  type SwapHooks,
  type SwapPlaces,
  swapIn,
} from './swap.ts';

/** Options of {@link createOpSqliteWallet}. */
export interface OpSqliteWalletOptions extends SwapHooks {
  /** op-sqlite's `open` (`import { open } from '@op-engineering/op-sqlite'`). */
  open: OpSqliteOpen;
  /** The file system (`expoFiles(…)` of `./expo-files.ts`). */
  files: RnFiles;
  /** Absolute path of the wallet's data directory. */
  dataDir: string;
  /** Absolute path of private scratch space (the app's cache directory, say). */
  tmpDir: string;
  /** The wallet's databases, relative paths: then they are what the wallet is. */
  databases?: readonly string[];
  /** Time written into archives. */
  clock: Clock;
  /** Extraction limits (defaults: `DEFAULT_LIMITS`, as on Node). */
  limits?: Partial<ExtractLimits>;
}

/** The adapter, both interfaces. */
export type OpSqliteWallet = WalletDataAdapter & IncrementalWalletAdapter;

/**
 * Creates the wallet data adapter for a wallet on op-sqlite.
 *
 * @example
 * ```ts
 * import { open } from '@op-engineering/op-sqlite';
 * import * as FileSystem from 'expo-file-system';
 * const wallet = createOpSqliteWallet({ open, files: expoFiles(FileSystem), clock: systemClock,
 *   dataDir: `${docs}/wallet`, tmpDir: `${cache}/noah`, beforeSwap: closeDb, afterSwap: openDb });
 * ```
 */
export function createOpSqliteWallet(o: OpSqliteWalletOptions): OpSqliteWallet {
  const limits: ExtractLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const { files, open } = o;
  const places: SwapPlaces = { files, dataDir: o.dataDir };
  const declared = o.databases ?? [];

  /** Writes what `fill` makes into the new directory `dir`; returns what it made. */
  async function fillInto(dir: string, fill: TreeFill, signal?: AbortSignal) {
    const made = new Map<string, 'file' | 'database'>();
    await fill({
      mkdir: async (path) => {
        throwIfAborted(signal);
        await files.mkdir(joinPath(dir, path));
      },
      create: async (path, size, kind) => {
        throwIfAborted(signal);
        const abs = joinPath(dir, path);
        await files.mkdir(splitPath(abs).dir);
        await files.create(abs);
        // The final size at once, in zeros: a write past a file's end leaves the bytes
        // between unspecified on some platforms (Java's FileChannel).
        const zeros = new Uint8Array(Math.min(size, 256 * 1024));
        for (let at = 0; at < size; at += zeros.length)
          await files.write(abs, at, zeros.subarray(0, Math.min(zeros.length, size - at)));
        made.set(path, kind);
      },
      write: async (path, position, data) => {
        throwIfAborted(signal);
        if (!made.has(path)) throw new RangeError(`${path} was not created`);
        await files.write(joinPath(dir, path), position, data);
      },
    });
    const marked = new Set([...made].filter(([, k]) => k === 'database').map(([p]) => p));
    const databases = await checkStaged(open, files, dir, made.keys(), marked);
    return { entries: made.size, databases };
  }

  /** Extracts `archive` into the new directory `dir`, with the guards. */
  async function extractInto(
    dir: string,
    archive: AsyncIterable<Uint8Array>,
    kind: ArchiveKind,
    signal?: AbortSignal,
  ) {
    const guard = createEntryGuard(limits);
    const paths: string[] = [];
    for await (const entry of readArchive(kind, archive, { guard, limits, signal })) {
      const abs = joinPath(dir, entry.path);
      if (entry.type === 'directory') {
        await files.mkdir(abs);
        continue;
      }
      await files.mkdir(splitPath(abs).dir);
      await files.create(abs);
      let at = 0;
      for await (const chunk of entry.body) {
        await files.write(abs, at, chunk);
        at += chunk.length;
      }
      paths.push(entry.path);
    }
    const databases = await checkStaged(open, files, dir, paths);
    return { entries: guard.files, databases };
  }

  /** Runs `stage` in fresh staging beside the wallet, then swaps it in; else removes it. */
  async function restoreWith<T extends { databases: string[]; entries: number }>(
    stage: (dir: string) => Promise<T>,
    check: (staged: T) => void,
    signal?: AbortSignal,
  ) {
    throwIfAborted(signal);
    await recoverSwap(places);
    const staging = await makeStaging(places);
    try {
      const staged = await stage(staging);
      check(staged);
      throwIfAborted(signal);
      const previous = await swapIn(places, staging, o);
      return { entries: staged.entries, previous, databasePaths: staged.databases };
    } catch (e) {
      await files.remove(staging);
      throw e;
    }
  }

  /** Runs `stage` in scratch space, keeping nothing. */
  async function scratch<T>(stage: (dir: string) => Promise<T>): Promise<T> {
    await files.mkdir(o.tmpDir);
    const dir = joinPath(o.tmpDir, `noah-verify-${randomTag()}`);
    await files.mkdir(dir);
    try {
      return await stage(dir);
    } finally {
      await files.remove(dir);
    }
  }

  const copiesOf = async (opts: {
    databases?: readonly string[] | undefined;
    signal?: AbortSignal | undefined;
    onProgress?: ((bytes: number, totalBytes: number) => void) | undefined;
  }) => {
    await recoverSwap(places);
    return takeCopies({
      open,
      files,
      dataDir: o.dataDir,
      tmpDir: o.tmpDir,
      declared: [...declared, ...(opts.databases ?? [])],
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
  };

  return {
    async snapshot(opts) {
      const c = await copiesOf(opts);
      const inputs = c.items.map((item) => {
        if (item.type === 'directory') return { type: 'directory' as const, name: item.path };
        const copy = c.copies.get(item.path) ?? '';
        const size = item.type === 'file' ? item.size : item.pageSize * item.pageCount;
        return {
          type: 'file' as const,
          name: item.path,
          size,
          body: () => readRange(files, copy, 0, size),
        };
      });
      let cleaned: Promise<void> | undefined;
      return {
        archive: writeArchive(opts.kind, inputs, o.clock.now(), opts.signal),
        entries: inputs.filter((i) => i.type === 'file').length,
        databases: c.databases,
        declared: declared.length > 0,
        bytes: c.bytes,
        cleanup: () => {
          cleaned ??= files.remove(c.dir);
          return cleaned;
        },
      };
    },
    async restore(archive, { kind, signal, allowEmpty }) {
      return restoreWith(
        (dir) => extractInto(dir, archive, kind, signal),
        (s) => {
          if (s.databases.length === 0 && allowEmpty !== true) throw emptyBackup(s.entries);
        },
        signal,
      );
    },
    async verify(archive, { kind, signal }) {
      const s = await scratch((dir) => extractInto(dir, archive, kind, signal));
      if (s.databases.length === 0) throw emptyBackup(s.entries);
      return { entries: s.entries, databases: s.databases.length };
    },
    async pageSnapshot(opts) {
      const c = await copiesOf(opts);
      let cleaned: Promise<void> | undefined;
      return {
        items: c.items,
        databases: c.databases,
        declared: declared.length > 0,
        bytes: c.bytes,
        // `copiesOf` ran every copy's integrity check before returning.
        checked: Promise.resolve(),
        read: (path, position, length) => {
          const copy = c.copies.get(path);
          if (copy === undefined) throw new RangeError(`${path} is not in the snapshot`);
          return readRange(files, copy, position, length, 1024 * 1024);
        },
        cleanup: () => {
          cleaned ??= files.remove(c.dir);
          return cleaned;
        },
      };
    },
    async restoreTree(fill, { signal }) {
      return restoreWith(
        (dir) => fillInto(dir, fill, signal),
        () => {},
        signal,
      );
    },
    async verifyTree(fill, { signal }) {
      const s = await scratch((dir) => fillInto(dir, fill, signal));
      return { entries: s.entries, databases: s.databases.length };
    },
  };
}
