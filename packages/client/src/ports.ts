/**
 * The ports: the seams between the isomorphic BackupManager and the platform it runs on
 * (Node, a browser, React Native). The manager never touches files, databases or
 * storage directly: it asks these. Each port has one implementation per platform, in a
 * folder of its own (`./node/`, `./web/`), and one contract kit that runs on every
 * implementation (`test/contract/`). The contracts below are what the kits check; an
 * implementation for a new platform passes the same kits.
 *
 * Errors: every refusal the contracts name is a `NoahError` with that code and a message
 * that names no secret and no file content (a database is named by its relative path).
 * @module
 */

/** Kind of archive inside a backup (docs/FORMAT.md §5.3, payload kind). */
export type ArchiveKind = 'tar' | 'zip';

/** What a restore or a verify is told about the archive. */
export interface WalletArchiveOptions {
  kind: ArchiveKind;
  signal?: AbortSignal;
  /**
   * Restore only: restore an archive without any database (the user confirmed it);
   * otherwise it is refused (`empty_backup`).
   */
  allowEmpty?: boolean;
  /**
   * Restore only: the databases of this device's last backup (device state), which
   * mark a target directory as the wallet being replaced (docs/WALLET.md §2).
   */
  databases?: readonly string[];
}

/** What a snapshot is asked for. */
export interface WalletSnapshotOptions extends WalletArchiveOptions {
  /** The wallet's databases the caller knows of (docs/WALLET.md §1). */
  databases?: readonly string[];
  /**
   * Reports bytes copied so far out of the total to copy (optional to call), so a large
   * wallet's snapshot shows progress instead of a long silence.
   */
  onProgress?: (bytes: number, totalBytes: number) => void;
}

/** A consistent, archived copy of the wallet's data, ready to encrypt. */
export interface WalletSnapshot {
  /** The archive bytes (a fresh iterable each call is not required: read once). */
  readonly archive: AsyncIterable<Uint8Array>;
  /** Number of files and databases captured (for status and logs). */
  readonly entries: number;
  /**
   * The SQLite databases captured, as relative paths. Never empty: a snapshot without a
   * database is no wallet's, and the manager refuses to upload it (`not_a_wallet`).
   */
  readonly databases: readonly string[];
  /**
   * True when the app declared its databases (the Node adapter's `databases` option):
   * `databases` is then what the app says its wallet is, and a database of the last
   * backup missing from it was dropped on purpose. Otherwise the manager refuses such a
   * snapshot (`wallet_database_missing`, docs/WALLET.md §1).
   */
  readonly declared?: boolean;
  /** Bytes of the files captured, before archiving, if known: the encrypt phase's total. */
  readonly bytes?: number;
  /** Removes every temporary file the snapshot made. Idempotent; always call it. */
  cleanup(): Promise<void>;
}

/**
 * Where the wallet's data lives: its files, some of which are SQLite databases
 * (docs/WALLET.md). The archive it writes and reads is the SDK's one codec
 * (`../archive/`), with its guards and limits.
 *
 * **snapshot** MUST be consistent while the wallet keeps writing (a database copied as
 * one transaction, never its raw journal files). It MUST refuse, before anything is
 * archived:
 * - data that is no wallet (nothing, or no database): `not_a_wallet`;
 * - a database that a restore would refuse: every database it captures MUST pass
 *   SQLite's `PRAGMA integrity_check` (the check `restore` runs), and a file that
 *   should be a database and is not one (among them each of `databases` still present)
 *   is a damaged database: `corrupt_wallet_database`.
 *
 * So neither a damaged wallet nor no wallet ever replaces a good backup: the server keeps
 * two backups, and two daily backups of either would replace both (docs/WALLET.md §1).
 *
 * **restore** MUST read the archive with the extraction guards (a hostile or damaged
 * archive: `unsafe_archive`, naming the rule), MUST check every database in it with
 * `PRAGMA integrity_check` (`integrity_check_failed`), MUST refuse an archive that holds
 * no database at all (`empty_backup`: no wallet) unless `allowEmpty`, and only then replace the
 * wallet's data, atomically: at every instant the wallet is either the old data or the
 * new, and no failure (a refusal, an abort, an error of `archive` itself, which is
 * rethrown unchanged) leaves anything changed or anything staged behind.
 *
 * **verify** MUST make the same checks as `restore` (an archive without a database is
 * always refused: it is never reported intact) and change nothing.
 */
export interface WalletDataAdapter {
  /** @throws NoahError `not_a_wallet`, `corrupt_wallet_database` */
  snapshot(opts: WalletSnapshotOptions): Promise<WalletSnapshot>;
  /**
   * Returns the number of files restored, the databases restored (`databasePaths`,
   * relative paths) and, where the platform keeps the data it replaced, where that is
   * (`previous`, e.g. a directory beside the wallet's).
   * @throws NoahError `unsafe_archive`, `integrity_check_failed`, `empty_backup`; whatever
   *   `archive` throws, unchanged
   */
  restore(
    archive: AsyncIterable<Uint8Array>,
    opts: WalletArchiveOptions,
  ): Promise<{ entries: number; previous?: string | null; databasePaths?: readonly string[] }>;
  /**
   * Optional: a quick estimate (no copy) of the compressed backup, so that a backup
   * clearly over the server's limit is refused before the snapshot's work; null when the
   * data fits within `limit` even uncompressed.
   */
  estimateBackup?(
    limit: number,
    opts?: { signal?: AbortSignal },
  ): Promise<{ bytes: number; estimate: number } | null>;
  /**
   * Verifies an archive without restoring it: the checks of `restore`, then nothing
   * kept. Used by `verify`.
   * @throws as `restore`
   */
  verify(
    archive: AsyncIterable<Uint8Array>,
    opts: WalletArchiveOptions,
  ): Promise<{ entries: number; databases: number }>;
}

/** Bytes written somewhere so their size is known before upload (Content-Length). */
export interface SpooledBlob {
  /** Exactly the number of bytes spooled. */
  readonly size: number;
  /**
   * Streams the bytes from the start, exactly as they were spooled; may be called again
   * (an upload retry). Once `cleanup()` has run, reading fails.
   */
  open(): AsyncIterable<Uint8Array>;
  /** Frees the storage. Idempotent. */
  cleanup(): Promise<void>;
}

/**
 * Temporary storage for the encrypted backup (a private temp file on Node, a `Blob` in a
 * browser). `spool` reads the whole stream; if the stream throws, or `signal` aborts, it
 * rejects with that error and keeps nothing.
 */
export interface Spooler {
  spool(data: AsyncIterable<Uint8Array>, opts?: { signal?: AbortSignal }): Promise<SpooledBlob>;
}

/**
 * Small persistent key-value state of this device (sequence numbers, status, lock).
 * Keys and values are any strings, kept verbatim (`__proto__` is a key like any other);
 * `get` of a missing key is null, `delete` of one does nothing. Atomic within the scope
 * the platform shares the state in: the processes of a machine (Node), the page (a
 * browser tab).
 */
export interface DeviceStateStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Atomically sets `key` to `value` only if it is absent or its current value satisfies
   * `canReplace` — the primitive behind the backup lock (a crashed run's lock goes stale).
   * Of several racing calls whose predicates refuse each other's values, exactly one
   * writes. Returns true if the value was written.
   */
  compareAndSet(
    key: string,
    value: string,
    canReplace: (current: string) => boolean,
  ): Promise<boolean>;
}

/**
 * One item of a page-stable snapshot (docs/FORMAT.md §8): a directory, a file stored
 * whole, or a SQLite database stored page by page, by relative `/`-separated path.
 */
export type PageSnapshotItem =
  | { type: 'directory'; path: string }
  | { type: 'file'; path: string; size: number }
  | { type: 'database'; path: string; pageSize: number; pageCount: number };

/**
 * A consistent snapshot of the wallet's data whose databases keep the live files' page
 * numbers (so pages can be compared day to day): copies, or pinned reads of the live
 * files (Node, docs/WALLET.md §5), each going through `PRAGMA integrity_check`.
 */
export interface PageSnapshot {
  /** Sorted by path (UTF-8 byte order), every parent directory before its children. */
  readonly items: readonly PageSnapshotItem[];
  /** The databases among `items` (never empty, as for `WalletSnapshot`). */
  readonly databases: readonly string[];
  /** As `WalletSnapshot.declared`: the app named its databases. */
  readonly declared?: boolean;
  /** Bytes of the files and databases captured. */
  readonly bytes: number;
  /**
   * Settles when every database's integrity check has run, which may be while the
   * snapshot is read: rejects with NoahError `corrupt_wallet_database` if one fails. A
   * backup of this snapshot MUST NOT complete before it resolved (docs/WALLET.md §5).
   */
  readonly checked: Promise<void>;
  /**
   * Streams `length` bytes of the snapshot of `path` from byte `position`, in chunks of at
   * most 1 MiB (whole pages of a database when `position` and `length` are). With
   * `transient`, a chunk is valid only until the next one is asked for (the buffer may be
   * reused): for a reader that is done with each chunk at once, such as a digest, so a
   * pass over a large database leaves no garbage behind.
   */
  read(
    path: string,
    position: number,
    length: number,
    opts?: { transient?: boolean },
  ): AsyncIterable<Uint8Array>;
  /**
   * Removes every temporary file the snapshot made and ends what it holds open (a pinned
   * read transaction). Idempotent; always call it.
   */
  cleanup(): Promise<void>;
}

/**
 * Where a manifest restore writes (docs/FORMAT.md §8.7): files are created with their
 * final size, and bytes land by positioned writes in any order.
 */
export interface TreeSink {
  mkdir(path: string): Promise<void>;
  /**
   * Creates the file `path` (parent directories already made) of `size` bytes, to be
   * filled by `write`; `database` marks a SQLite database (counted by `verifyTree`).
   */
  create(path: string, size: number, kind: 'file' | 'database'): Promise<void>;
  /**
   * Writes `data` at byte `position` of the file `path` made by `create`. `data` is valid
   * only until the returned promise settles (the fill reuses its buffers): copy what is kept.
   */
  write(path: string, position: number, data: Uint8Array): Promise<void>;
}

/** Fills a {@link TreeSink}; a failure of it is rethrown unchanged by the adapter. */
export type TreeFill = (sink: TreeSink) => Promise<void>;

/**
 * What a platform offers for incremental backups (docs/FORMAT.md §8), beside the
 * {@link WalletDataAdapter} it extends. `pageSnapshot` makes the same refusals as
 * `snapshot` (`not_a_wallet`, `corrupt_wallet_database`). `restoreTree` stages what
 * `fill` writes, checks it as `restore` does (a database that is not one:
 * `integrity_check_failed`), then swaps atomically with the same guarantees; `verifyTree`
 * checks into scratch space and keeps nothing.
 */
export interface IncrementalWalletAdapter {
  pageSnapshot(opts: Omit<WalletSnapshotOptions, 'kind'>): Promise<PageSnapshot>;
  restoreTree(
    fill: TreeFill,
    opts: { signal?: AbortSignal; databases?: readonly string[] },
  ): Promise<{ entries: number; previous?: string | null; databasePaths: readonly string[] }>;
  verifyTree(
    fill: TreeFill,
    opts: { signal?: AbortSignal },
  ): Promise<{ entries: number; databases: number }>;
}

/** True if the wallet adapter can take part in incremental backups. */
export function isIncremental(
  w: WalletDataAdapter,
): w is WalletDataAdapter & IncrementalWalletAdapter {
  const x = w as Partial<IncrementalWalletAdapter>;
  return (
    typeof x.pageSnapshot === 'function' &&
    typeof x.restoreTree === 'function' &&
    typeof x.verifyTree === 'function'
  );
}

/**
 * The device cache of incremental backups (docs/FORMAT.md §8.8): one opaque blob per
 * account, already sealed by the caller. `load` of a missing cache is null; `save`
 * replaces it atomically (a reader sees the old blob or the new one, never a mix), in
 * storage only this user can read; `clear` removes it (idempotent).
 */
export interface DeviceCacheStore {
  load(): Promise<Uint8Array | null>;
  save(blob: Uint8Array): Promise<void>;
  clear(): Promise<void>;
}
