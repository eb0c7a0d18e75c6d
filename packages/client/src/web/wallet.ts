/**
 * The browser's `WalletDataAdapter` (contract: `../ports.ts`), for a wallet whose data
 * the page holds in memory: a few files, some of them SQLite databases run in the page
 * (sql.js, say) and kept in the browser's storage. The app supplies its wallet (how to
 * copy its files, which files of a backup it takes, how to swap them in) and its SQLite
 * engine's integrity check; this adapter does the rest, as the Node adapter does it for
 * a data directory.
 *
 * Snapshot: the app's files, each database checked with `PRAGMA integrity_check` first,
 * archived with the SDK's codec (`../archive/`). Restore and verify: the archive read
 * with the same reader and guards as on Node, every database in it checked, the app's
 * own checks, and only then the app's atomic swap (restore) or nothing (verify).
 *
 * Incremental backups (docs/FORMAT.md §8): the page snapshot is the same copy of the
 * files, each database a whole number of pages (`./tree.ts`); a manifest restore is
 * staged in memory, its entries admitted by the app's `keep` as they are made (so
 * another wallet's backup is refused before its packs are fetched), then checked and
 * swapped in exactly as an archive's.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { fromBytes } from '@noah-backup/core/stream';
import {
  createEntryGuard,
  DEFAULT_LIMITS,
  type ExtractLimits,
  unsafeArchive,
} from '../archive/guards.ts';
import { type ArchiveItem, readArchiveFiles } from '../archive/read.ts';
import { writeArchive } from '../archive/write.ts';
import type { IncrementalWalletAdapter, TreeFill, WalletDataAdapter } from '../ports.ts';
import {
  corruptWalletDatabase,
  emptyBackup,
  hasSqliteHeader,
  integrityCheckFailed,
  notAWallet,
} from '../wallet-refusals.ts';
import { createMemoryTree, memoryPageSnapshot, sqlitePageSize } from './tree.ts';
import { throwIfAborted } from '../errors.ts';

/** One file of the wallet, as the page holds it. */
export interface WalletFile {
  /** Relative path, `/`-separated. */
  readonly path: string;
  readonly data: Uint8Array;
  /** True for a SQLite database (one without the SQLite header is then damaged). */
  readonly database?: boolean;
}

/**
 * What the app tells the adapter about its wallet. `T` is what `open` makes of a
 * backup's files for `replace` (an opened database, say).
 */
export interface BrowserWallet<T> {
  /** A consistent copy of the wallet's files now (one thread: e.g. sql.js `export()`). */
  files(): WalletFile[] | Promise<WalletFile[]>;
  /**
   * Whether to keep an entry of a backup being restored or verified; throws to refuse
   * the backup (another kind of wallet's, say), which stops the download there.
   */
  keep(item: ArchiveItem): boolean;
  /**
   * Checks the kept files beyond the archive and database checks, and makes them ready
   * for `replace`; throws to refuse the backup. Changes nothing.
   */
  open(files: ReadonlyMap<string, Uint8Array>): Promise<T>;
  /** Replaces the wallet's data with `opened`, atomically (takes ownership of it). */
  replace(opened: T): Promise<void>;
  /** Frees `opened` when it is not swapped in (a verify, an abort). */
  discard(opened: T): void;
}

/** The SQLite engine's check: true when `PRAGMA integrity_check` on `bytes` says `ok`. */
export type IntegrityCheck = (bytes: Uint8Array) => Promise<boolean>;

/** Options of {@link createBrowserWalletData}. */
export interface BrowserWalletOptions {
  /** The page's SQLite (e.g. `sqlJsIntegrityCheck(SQL)` of `./sqlite.ts`). */
  integrityCheck: IntegrityCheck;
  /** Time written into archives. */
  clock: Clock;
  /** Extraction limits (defaults: `DEFAULT_LIMITS`, as on Node). */
  limits?: Partial<ExtractLimits>;
}

/** The browser adapter: both ports, and the app's admission of a backup's entries. */
export interface BrowserWalletData extends WalletDataAdapter, IncrementalWalletAdapter {
  /**
   * The app's `keep` of an entry of a backup: false drops it; a throw refuses the
   * backup. A worker that stages a manifest restore itself asks this as it goes.
   */
  admit(item: ArchiveItem): boolean;
}

/**
 * Creates the browser wallet data adapter.
 *
 * @param wallet - the app's wallet
 * @param opts - its SQLite check, the clock, the limits
 * @returns a `WalletDataAdapter` (and `IncrementalWalletAdapter`) for `createBackupManager`
 * @example
 * ```ts
 * const data = createBrowserWalletData(myWallet, { integrityCheck: sqlJsIntegrityCheck(SQL), clock: systemClock });
 * ```
 */
export function createBrowserWalletData<T>(
  wallet: BrowserWallet<T>,
  opts: BrowserWalletOptions,
): BrowserWalletData {
  const limits: ExtractLimits = { ...DEFAULT_LIMITS, ...opts.limits };

  /** Reads and checks a backup's archive: the files, its file count, its databases. */
  async function readChecked(
    archive: AsyncIterable<Uint8Array>,
    kind: 'tar' | 'zip',
    signal?: AbortSignal,
    allowEmpty = false,
  ) {
    const { files, entries } = await readArchiveFiles(kind, archive, {
      limits,
      keep: (item) => wallet.keep(item),
      signal,
    });
    const databasePaths: string[] = [];
    for (const [path, data] of files) {
      if (!hasSqliteHeader(data)) continue;
      if (!(await opts.integrityCheck(data))) throw integrityCheckFailed(path);
      databasePaths.push(path);
    }
    if (databasePaths.length === 0 && !allowEmpty) throw emptyBackup(entries);
    throwIfAborted(signal);
    const opened = await wallet.open(files);
    return { opened, entries, databases: databasePaths.length, databasePaths };
  }

  /** The wallet's files now, each database checked: the refusals of a snapshot. */
  async function checkedFiles(known: readonly string[], signal?: AbortSignal) {
    throwIfAborted(signal);
    const files = await wallet.files();
    const databases: string[] = [];
    for (const f of files) {
      if (!f.database && !hasSqliteHeader(f.data) && !known.includes(f.path)) continue;
      if (!hasSqliteHeader(f.data))
        throw corruptWalletDatabase(f.path, 'not a SQLite database where a database is expected');
      if (!(await opts.integrityCheck(f.data)))
        throw corruptWalletDatabase(f.path, 'it fails PRAGMA integrity_check');
      databases.push(f.path);
    }
    if (databases.length === 0)
      throw notAWallet(
        files.length === 0
          ? 'this browser holds no wallet data: there is no wallet to back up'
          : 'the wallet data holds no SQLite database, so there is no wallet to back up',
      );
    throwIfAborted(signal);
    return { files, databases };
  }

  /**
   * Stages a manifest restore in memory, then the checks of `readChecked`: every
   * database checked (one that is not a database fails the check), the app's `open`.
   */
  async function stageChecked(fill: TreeFill, signal?: AbortSignal) {
    // The archive reader's limits, so that a manifest cannot make the page allocate
    // more than an archive could.
    const guard = createEntryGuard(limits);
    const tree = createMemoryTree({
      admit(item) {
        guard.admit(item.path, item.type, item.size);
        if (item.type === 'file') guard.addBytes(item.size);
        return wallet.keep(item);
      },
      signal,
    });
    await fill(tree.sink);
    const { items, files, databases } = tree.staged();
    const databasePaths: string[] = [];
    for (const path of databases) {
      const data = files.get(path);
      if (data === undefined) continue;
      if (!hasSqliteHeader(data) || !(await opts.integrityCheck(data)))
        throw integrityCheckFailed(path);
      databasePaths.push(path);
    }
    const entries = items.filter((i) => i.type === 'file').length;
    if (databasePaths.length === 0) throw emptyBackup(entries);
    throwIfAborted(signal);
    const opened = await wallet.open(files);
    return { opened, entries, databasePaths };
  }

  return {
    admit(item) {
      if (item.size > limits.maxEntryBytes)
        throw unsafeArchive(`entry larger than ${limits.maxEntryBytes} bytes (maxEntryBytes)`);
      return wallet.keep(item);
    },
    async pageSnapshot({ signal, databases: known = [] }) {
      const { files, databases } = await checkedFiles(known, signal);
      const dbs = new Set(databases);
      return memoryPageSnapshot(
        files.map((f) => {
          if (!dbs.has(f.path)) return { path: f.path, data: f.data };
          const pageSize = sqlitePageSize(f.data);
          const valid = pageSize >= 512 && pageSize <= 65_536 && (pageSize & (pageSize - 1)) === 0;
          if (!valid || f.data.length % pageSize !== 0)
            throw corruptWalletDatabase(f.path, 'its copy is not a whole number of pages');
          return { path: f.path, data: f.data, pageSize };
        }),
      );
    },
    async restoreTree(fill, { signal }) {
      const { opened, entries, databasePaths } = await stageChecked(fill, signal);
      try {
        throwIfAborted(signal);
      } catch (err) {
        wallet.discard(opened);
        throw err;
      }
      await wallet.replace(opened);
      return { entries, databasePaths };
    },
    async verifyTree(fill, { signal }) {
      const { opened, entries, databasePaths } = await stageChecked(fill, signal);
      wallet.discard(opened);
      return { entries, databases: databasePaths.length };
    },
    async snapshot({ kind, signal, databases: known = [] }) {
      const { files, databases } = await checkedFiles(known, signal);
      const inputs = files.map((f) => ({
        type: 'file' as const,
        name: f.path,
        size: f.data.length,
        body: () => fromBytes(f.data),
      }));
      // No `bytes`: for a wallet of kilobytes the archive's headers make the files' own
      // size a poor total for the encrypt phase's progress.
      return {
        archive: writeArchive(kind, inputs, opts.clock.now(), signal),
        entries: files.length,
        databases,
        cleanup: async () => {},
      };
    },
    async restore(archive, { kind, signal, allowEmpty }) {
      const { opened, entries, databasePaths } = await readChecked(
        archive,
        kind,
        signal,
        allowEmpty === true,
      );
      try {
        throwIfAborted(signal);
      } catch (err) {
        wallet.discard(opened);
        throw err;
      }
      await wallet.replace(opened);
      return { entries, databasePaths };
    },
    async verify(archive, { kind, signal }) {
      const { opened, entries, databases } = await readChecked(archive, kind, signal);
      wallet.discard(opened);
      return { entries, databases };
    },
  };
}
