/**
 * The seams between the isomorphic BackupManager and the platform it runs on (Node,
 * browser, React Native). The manager never touches files, databases or storage
 * directly: it asks these adapters. Node implementations live in `./node/*`; the web
 * app supplies browser ones.
 * @module
 */

/** Kind of archive inside a backup (FORMAT.md: v2 payload kind). */
export type ArchiveKind = 'tar' | 'zip';

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
  /** Bytes of the files captured, before archiving, if known: the encrypt phase's total. */
  readonly bytes?: number;
  /** Removes every temporary file the snapshot made. Idempotent; always call it. */
  cleanup(): Promise<void>;
}

/**
 * Where the wallet's data lives. `snapshot` must be consistent while the wallet keeps
 * writing (SQLite via `VACUUM INTO`, never raw WAL/SHM copies), and should refuse a
 * database that `restore` would refuse (the Node adapter: `corrupt_wallet_database` when
 * a file that should be a database is not one or a copy fails `PRAGMA integrity_check`),
 * and data that is no wallet (`not_a_wallet`: nothing, or no database), so neither ever
 * replaces a good backup (docs/WALLET.md §1). `databases` names the files that held a
 * database in the last backup: the snapshot treats each one still there as a database
 * that must be sound. `restore` stages the
 * archive in a temporary place, verifies it (extraction guards, `PRAGMA integrity_check`
 * on every database), and only then swaps it in atomically, keeping the old data until
 * the new data is in place: no crash point leaves the user without a wallet. If
 * `archive` throws (a decryption failure detected late, e.g. truncation), nothing is
 * swapped and the staging area is removed.
 */
export interface WalletDataAdapter {
  /**
   * `databases` names the wallet's databases the caller knows of (docs/WALLET.md §1).
   * `onProgress` (optional to call) reports bytes copied so far out of the total to
   * copy, so a large wallet's snapshot shows progress instead of a long silence.
   */
  snapshot(opts: {
    kind: ArchiveKind;
    signal?: AbortSignal;
    databases?: readonly string[];
    onProgress?: (bytes: number, totalBytes: number) => void;
  }): Promise<WalletSnapshot>;
  /**
   * Returns the number of files restored and, where the platform keeps the data it
   * replaced, where that is (`previous`, e.g. a directory beside the wallet's).
   */
  restore(
    archive: AsyncIterable<Uint8Array>,
    opts: { kind: ArchiveKind; signal?: AbortSignal },
  ): Promise<{ entries: number; previous?: string | null }>;
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
   * Verifies an archive without restoring it (extract to a scratch place, check every
   * database, delete). Used by `verify`.
   */
  verify(
    archive: AsyncIterable<Uint8Array>,
    opts: { kind: ArchiveKind; signal?: AbortSignal },
  ): Promise<{ entries: number; databases: number }>;
}

/** Bytes written somewhere so their size is known before upload (Content-Length). */
export interface SpooledBlob {
  readonly size: number;
  /** Streams the bytes from the start; may be called again for a retry. */
  open(): AsyncIterable<Uint8Array>;
  cleanup(): Promise<void>;
}

/** Temporary storage for the encrypted backup (a temp file on Node, memory/OPFS on web). */
export interface Spooler {
  spool(data: AsyncIterable<Uint8Array>, opts?: { signal?: AbortSignal }): Promise<SpooledBlob>;
}

/** Small persistent key-value state of this device (sequence numbers, status, lock). */
export interface DeviceStateStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Atomically sets `key` to `value` only if it is absent or its current value satisfies
   * `canReplace` — the primitive behind the backup lock (a crashed run's lock goes stale).
   * Returns true if the value was written.
   */
  compareAndSet(
    key: string,
    value: string,
    canReplace: (current: string) => boolean,
  ): Promise<boolean>;
}
