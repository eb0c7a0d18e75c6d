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
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { fromBytes } from '@noah-backup/core/stream';
import { DEFAULT_LIMITS, type ExtractLimits } from '../archive/guards.ts';
import { type ArchiveItem, readArchiveFiles } from '../archive/read.ts';
import { writeArchive } from '../archive/write.ts';
import type { WalletDataAdapter } from '../ports.ts';
import {
  corruptWalletDatabase,
  emptyBackup,
  hasSqliteHeader,
  integrityCheckFailed,
  notAWallet,
} from '../wallet-refusals.ts';
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

/**
 * Creates the browser wallet data adapter.
 *
 * @param wallet - the app's wallet
 * @param opts - its SQLite check, the clock, the limits
 * @returns a `WalletDataAdapter` for `createBackupManager`
 * @example
 * ```ts
 * const data = createBrowserWalletData(myWallet, { integrityCheck: sqlJsIntegrityCheck(SQL), clock: systemClock });
 * ```
 */
export function createBrowserWalletData<T>(
  wallet: BrowserWallet<T>,
  opts: BrowserWalletOptions,
): WalletDataAdapter {
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

  return {
    async snapshot({ kind, signal, databases: known = [] }) {
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
