/**
 * The Node `WalletDataAdapter`: consistent snapshot, guarded restore and verify of a
 * wallet data directory (docs/WALLET.md). See `snapshot.ts`, `restore.ts`, `recover.ts`.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import type {
  ArchiveKind,
  IncrementalWalletAdapter,
  WalletArchiveOptions,
  WalletDataAdapter,
  WalletSnapshotOptions,
} from '../ports.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { estimateBackupBytes } from './estimate.ts';
import { type FreeSpaceProbe, statfsFreeBytes } from './fs-util.ts';
import { DEFAULT_LIMITS, type ExtractLimits } from '../archive/guards.ts';
import { type RecoveryReport, recoverInterruptedRestore } from './recover.ts';
import {
  type RestoredArchive,
  type RestorePhase,
  restoreArchive,
  verifyArchive,
} from './restore.ts';
import { takePageSnapshot } from './page-snapshot.ts';
import { type NodeWalletSnapshot, takeSnapshot } from './snapshot.ts';
import { restoreTree, verifyTree } from './tree-restore.ts';

/** Options of `createNodeWalletAdapter`. */
export interface NodeWalletAdapterOptions {
  /** The wallet data directory. */
  dataDir: string;
  /** Where snapshots and verify scratch space go (default: the OS temp dir). */
  tmpDir?: string;
  /** Time written into archives and old-copy names (default: the system clock). */
  clock?: Clock;
  /** Extraction limits (defaults: `DEFAULT_LIMITS`). */
  limits?: Partial<ExtractLimits>;
  /** Free-space probe (default: `statfs`). A platform probe; tests replace it. */
  freeSpace?: FreeSpaceProbe;
  /** Bytes always left free on disk by a snapshot or restore (default 32 MiB). */
  reserveBytes?: number;
  /** How long a snapshot waits on a locked database (default 10 s). */
  busyTimeoutMs?: number;
  /**
   * The wallet's SQLite databases, as paths relative to `dataDir` (e.g.
   * `['wallet.sqlite']`). A backup refuses a directory where one is missing
   * (`not_a_wallet`) or is not a sound database (`corrupt_wallet_database`). Without
   * it, a wallet is any directory with at least one SQLite database, and a file with a
   * database's name (`*.sqlite`, `*.sqlite3`, `*.db`, `*.db3`) must be one; with it,
   * names mark nothing, so `.db` files in other formats are plain files
   * (docs/WALLET.md §1).
   */
  databases?: readonly string[];
  /**
   * Let a restore replace a data directory that holds files but no wallet (default
   * false: `target_not_a_wallet`). Whatever a restore replaces is kept beside it as
   * `<dataDir>.noah-replaced-<time>-<random>`, never deleted (docs/WALLET.md §2).
   */
  replaceNonWallet?: boolean;
  /** Where recovery says what it kept or put back (default: silent). */
  logger?: Logger;
  /** Called at each restore phase (progress; crash tests stop the process here). */
  onRestorePhase?: (phase: RestorePhase) => void | Promise<void>;
}

/** The Node adapter: the seam plus the richer snapshot and an explicit recovery. */
export interface NodeWalletAdapter extends WalletDataAdapter, IncrementalWalletAdapter {
  snapshot(opts: WalletSnapshotOptions): Promise<NodeWalletSnapshot>;
  restore(archive: AsyncIterable<Uint8Array>, opts: WalletArchiveOptions): Promise<RestoredArchive>;
  /**
   * Runs `recoverInterruptedRestore` on this adapter's data directory and logs what it
   * kept or put back. An app calls it at start, before it opens the wallet: a crash
   * between a restore's renames leaves no wallet directory until this runs.
   */
  recover(): Promise<RecoveryReport>;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v)) throw new TypeError(`${name} must be an integer`);
  if (v < 0) throw new RangeError(`${name} must be ≥ 0, got ${v}`);
  return v;
}

/** Checks and normalises the `databases` option: relative paths inside the data directory. */
function databaseList(list: unknown): string[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new TypeError('databases must be an array of paths');
  return list.map((p: unknown) => {
    if (typeof p !== 'string' || p === '') throw new TypeError('databases must hold paths');
    const rel = p.replaceAll('\\', '/').replace(/^\.\//, '');
    if (rel.startsWith('/') || rel.split('/').some((part) => part === '..' || part === ''))
      throw new RangeError(`databases: ${p} is not a path inside the data directory`);
    return rel;
  });
}

function archiveKind(kind: unknown): ArchiveKind {
  if (kind !== 'tar' && kind !== 'zip') throw new TypeError("kind must be 'tar' or 'zip'");
  return kind;
}

/**
 * Creates the Node wallet data adapter.
 * @param opts - see `NodeWalletAdapterOptions`
 * @returns the adapter
 * @throws TypeError / RangeError for bad options
 * @example
 * const wallet = createNodeWalletAdapter({ dataDir: '/data/wallet' });
 * const snap = await wallet.snapshot({ kind: 'tar' });
 * try { for await (const chunk of snap.archive) upload(chunk); } finally { await snap.cleanup(); }
 */
export function createNodeWalletAdapter(opts: NodeWalletAdapterOptions): NodeWalletAdapter {
  if (typeof opts?.dataDir !== 'string' || opts.dataDir === '')
    throw new TypeError('dataDir must be a non-empty string');
  const dataDir = resolve(opts.dataDir);
  const tmpDir = resolve(opts.tmpDir ?? tmpdir());
  const clock = opts.clock ?? systemClock;
  const freeSpace = opts.freeSpace ?? statfsFreeBytes;
  const reserveBytes = positiveInt('reserveBytes', opts.reserveBytes, 32 * 1024 * 1024);
  const busyTimeoutMs = positiveInt('busyTimeoutMs', opts.busyTimeoutMs, 10_000);
  const declared = databaseList(opts.databases);
  const limits: ExtractLimits = {
    maxEntries: positiveInt(
      'limits.maxEntries',
      opts.limits?.maxEntries,
      DEFAULT_LIMITS.maxEntries,
    ),
    maxTotalBytes: positiveInt(
      'limits.maxTotalBytes',
      opts.limits?.maxTotalBytes,
      DEFAULT_LIMITS.maxTotalBytes,
    ),
    maxEntryBytes: positiveInt(
      'limits.maxEntryBytes',
      opts.limits?.maxEntryBytes,
      DEFAULT_LIMITS.maxEntryBytes,
    ),
  };
  const walk = { byName: declared === undefined, expected: new Set(declared ?? []) };
  const extractOpts = (kind: unknown, signal?: AbortSignal, allowEmpty = false) => ({
    kind: archiveKind(kind),
    allowEmpty,
    limits,
    freeSpace,
    reserveBytes,
    walk,
    signal,
  });
  const logger = opts.logger ?? silentLogger;
  const recover = async (): Promise<RecoveryReport> => {
    const report = await recoverInterruptedRestore(dataDir);
    if (report.restoredOld)
      logger.warn('an interrupted restore was undone: the previous wallet is back in place', {
        dataDir,
      });
    for (const kept of report.kept)
      logger.warn('an interrupted restore was finished; the replaced data is kept', { kept });
    for (const conflict of report.conflicts)
      logger.warn(
        'an interrupted restore left the previous wallet beside a different one; both are kept',
        { dataDir, previous: conflict },
      );
    return report;
  };

  const refuseConflict = async () => {
    const { conflicts } = await recover();
    if (conflicts.length > 0)
      throw new NoahError(
        'restore_conflict',
        `a restore into ${dataDir} was interrupted and a different wallet directory was created there since; the previous one is kept at ${conflicts[0]}. No backup is made until one of them is chosen: move the one to keep to ${dataDir} and rename the other (docs/WALLET.md §3)`,
      );
  };
  const restoreOpts = {
    dataDir,
    clock,
    freeSpace,
    reserveBytes,
    walk,
    replaceNonWallet: opts.replaceNonWallet === true,
    onPhase: opts.onRestorePhase,
  };

  return {
    async pageSnapshot({ signal, databases, onProgress }) {
      await refuseConflict();
      const snap = await takePageSnapshot({
        onProgress,
        shape: { required: declared ?? [], known: databases ?? [], byName: declared === undefined },
        dataDir,
        tmpDir,
        freeSpace,
        reserveBytes,
        busyTimeoutMs,
        signal,
      });
      return Object.assign(snap, { declared: declared !== undefined });
    },
    async restoreTree(fill, { signal, databases }) {
      await recover();
      return restoreTree(fill, { ...restoreOpts, signal, knownDatabases: databases ?? [] });
    },
    verifyTree: (fill, { signal }) => verifyTree(fill, tmpDir, { freeSpace, reserveBytes, signal }),
    async snapshot({ kind, signal, databases, onProgress }) {
      await refuseConflict();
      const snap = await takeSnapshot({
        onProgress,
        shape: {
          required: declared ?? [],
          known: databases ?? [],
          byName: declared === undefined,
        },
        dataDir,
        tmpDir,
        kind: archiveKind(kind),
        clock,
        freeSpace,
        reserveBytes,
        busyTimeoutMs,
        signal,
      });
      return Object.assign(snap, { declared: declared !== undefined });
    },
    async restore(archive, { kind, signal, allowEmpty, databases }) {
      await recover();
      return restoreArchive(archive, {
        ...extractOpts(kind, signal, allowEmpty === true),
        knownDatabases: databases ?? [],
        dataDir,
        clock,
        replaceNonWallet: opts.replaceNonWallet === true,
        onPhase: opts.onRestorePhase,
      });
    },
    async estimateBackup(limit) {
      // No directory there (missing, a file): the snapshot says what is wrong.
      const st = await fsp.stat(dataDir).catch(() => undefined);
      if (!st?.isDirectory()) return null;
      return estimateBackupBytes(dataDir, limit);
    },
    verify(archive, { kind, signal }) {
      return verifyArchive(archive, tmpDir, extractOpts(kind, signal));
    },
    recover,
  };
}

export { recoverInterruptedRestore, type RecoveryReport } from './recover.ts';
export type { RestoredArchive, RestorePhase } from './restore.ts';
export type { NodeWalletSnapshot, SnapshotItem } from './snapshot.ts';
export type { ExtractLimits } from '../archive/guards.ts';
export type { FreeSpaceProbe } from './fs-util.ts';
