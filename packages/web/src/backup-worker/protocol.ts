/**
 * The one table of what crosses between the page and the backup worker (`rpc.ts` carries
 * it): the worker serves its session and the BackupManager's methods
 * ({@link MANAGER_CALLS}, total over the manager's interface, so a method added there
 * and not here is a compile error); the page serves its wallet and its state store
 * ({@link PageMethods}). Both sides are typed from here: `backup.worker.ts` builds its
 * handlers and `remote-manager.ts` its manager from the same entries.
 *
 * AbortSignals cannot cross `postMessage`: an operation's options carry an `op` id in
 * place of its signal, and aborting sends `cancel(op)`.
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import type { ArchiveItem } from '@noah-backup/client/archive/read';
import type { ArchiveKind } from '@noah-backup/client/ports';
import type { SnapshotFile, StagedTree } from '@noah-backup/client/web/tree';

/**
 * The IndexedDB database of the device cache of incremental backups (docs/FORMAT.md
 * §8.8): the worker keeps it, the page deletes it with the wallet.
 */
export const CACHE_DB = 'noah-backup-cache';
/** The cache's record in {@link CACHE_DB} (one wallet per origin). */
export const CACHE_KEY = 'device';

/** What the page passes to `init`. */
export interface WorkerInit {
  mnemonic: string;
  /** The backup server's base URL (the page's origin in production). */
  serverUrl: string;
}

/** The manager's methods that run in the worker (the rest live on the page). */
export type ManagerCall = Exclude<
  keyof BackupManager,
  'ready' | 'getStatus' | 'getSnapshot' | 'subscribe'
>;

/**
 * Each manager method the worker serves, and the index of its options argument (the
 * one holding `signal`), or null for a method that cannot be cancelled.
 */
export const MANAGER_CALLS = {
  isBackupEnabled: null,
  setBackupEnabled: null,
  triggerBackup: 0,
  listBackups: null,
  restoreBackup: 1,
  deleteBackup: null,
  verifyBackup: 1,
  handleBackupNotification: null,
} as const satisfies Record<ManagerCall, number | null>;

/** The options of a cancellable call as they cross: the signal replaced by an id. */
export type WireOptions<O> = Omit<O, 'signal'> & { op?: number };

/** What the worker serves the page. */
export type WorkerMethods = {
  init(init: WorkerInit): Promise<void>;
  /** Aborts the operation the page started with this `op` id. */
  cancel(op: number): void;
} & {
  [K in ManagerCall]: (...args: unknown[]) => ReturnType<BackupManager[K]>;
};

/** A snapshot of the page's wallet, whole (a web wallet's data is small). */
export interface WireSnapshot {
  archive: Uint8Array;
  entries: number;
  databases: readonly string[];
  bytes: number | undefined;
}

/**
 * What the page serves the worker: its wallet data port (archives cross as streams,
 * pulled by id: `RpcEndpoint.offerStream`) and its localStorage state.
 */
export interface PageMethods {
  'wallet.snapshot'(kind: ArchiveKind, databases: readonly string[]): Promise<WireSnapshot>;
  'wallet.restore'(
    stream: number,
    kind: ArchiveKind,
  ): Promise<{ entries: number; previous?: string | null }>;
  'wallet.verify'(
    stream: number,
    kind: ArchiveKind,
  ): Promise<{ entries: number; databases: number }>;
  /** A page snapshot (docs/FORMAT.md §8), its files whole: a web wallet's data is small. */
  'wallet.pageSnapshot'(databases: readonly string[]): Promise<SnapshotFile[]>;
  /**
   * Whether the wallet takes an entry of a manifest backup being staged; throws to
   * refuse the backup (another kind of wallet's) before its packs are fetched.
   */
  'wallet.admit'(item: ArchiveItem): Promise<boolean>;
  /** Checks and swaps in a manifest restore the worker staged and proved. */
  'wallet.restoreTree'(
    tree: StagedTree,
  ): Promise<{ entries: number; previous?: string | null; databasePaths: readonly string[] }>;
  /** Checks a manifest backup the worker staged and proved; keeps nothing. */
  'wallet.verifyTree'(tree: StagedTree): Promise<{ entries: number; databases: number }>;
  'state.get'(key: string): Promise<string | null>;
  'state.set'(key: string, value: string): Promise<void>;
  'state.delete'(key: string): Promise<void>;
  /** Writes `value` only if the value is still `expected` (a compare-and-swap). */
  'state.swap'(key: string, expected: string | null, value: string): Promise<boolean>;
}
