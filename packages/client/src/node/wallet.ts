/**
 * The Node `WalletDataAdapter`: consistent snapshot, guarded restore and verify of a
 * wallet data directory (docs/WALLET.md). See `snapshot.ts`, `restore.ts`, `recover.ts`.
 * @module
 */
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import type { ArchiveKind, WalletDataAdapter } from '../adapters.ts';
import { type FreeSpaceProbe, statfsFreeBytes } from './fs-util.ts';
import { DEFAULT_LIMITS, type ExtractLimits } from './guards.ts';
import { type RecoveryReport, recoverInterruptedRestore } from './recover.ts';
import {
  type CheckedArchive,
  type RestorePhase,
  restoreArchive,
  verifyArchive,
} from './restore.ts';
import { type NodeWalletSnapshot, takeSnapshot } from './snapshot.ts';

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
  /** Called at each restore phase (progress; crash tests stop the process here). */
  onRestorePhase?: (phase: RestorePhase) => void | Promise<void>;
}

/** The Node adapter: the seam plus the richer snapshot and an explicit recovery. */
export interface NodeWalletAdapter extends WalletDataAdapter {
  snapshot(opts: {
    kind: ArchiveKind;
    signal?: AbortSignal;
    databases?: readonly string[];
  }): Promise<NodeWalletSnapshot>;
  restore(
    archive: AsyncIterable<Uint8Array>,
    opts: { kind: ArchiveKind; signal?: AbortSignal },
  ): Promise<CheckedArchive>;
  /** Runs `recoverInterruptedRestore` on this adapter's data directory. */
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
  const extractOpts = (kind: unknown, signal?: AbortSignal) => ({
    kind: archiveKind(kind),
    limits,
    freeSpace,
    reserveBytes,
    walk,
    signal,
  });

  return {
    async snapshot({ kind, signal, databases }) {
      await recoverInterruptedRestore(dataDir);
      return takeSnapshot({
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
    },
    restore(archive, { kind, signal }) {
      return restoreArchive(archive, {
        ...extractOpts(kind, signal),
        dataDir,
        clock,
        onPhase: opts.onRestorePhase,
      });
    },
    verify(archive, { kind, signal }) {
      return verifyArchive(archive, tmpDir, extractOpts(kind, signal));
    },
    recover() {
      return recoverInterruptedRestore(dataDir);
    },
  };
}

export { recoverInterruptedRestore, type RecoveryReport } from './recover.ts';
export type { RestorePhase } from './restore.ts';
export type { NodeWalletSnapshot, SnapshotItem } from './snapshot.ts';
export type { ExtractLimits } from './guards.ts';
export type { FreeSpaceProbe } from './fs-util.ts';
