/**
 * The restore and verify pipelines, the mirror of `backup.ts`, run by the manager (a
 * restore under its lock; a verify beside anything, since it only reads):
 * download_url → streamed download, resumed after a break (with a fresh URL if the old
 * one expired meanwhile) → open (format auto-detected, authenticated as it streams) →
 * for a restore, the rollback check (docs/FORMAT.md §6.6) → the wallet port stages,
 * checks and swaps (`restore`), or only checks (`verify`).
 * @module
 */
import type { BackupVersion, DownloadUrlResponse } from '@noah-backup/core/api';
import { NoahError } from '@noah-backup/core/errors';
import { type BackupFormat, type OpenedBackup, openBackup } from '@noah-backup/core/format';
import type { ArchiveKind } from '../ports.ts';
import { knownSequence, rollbackRefusal, SEQUENCE_KEY } from '../sequence.ts';
import { knownDatabases, rememberRestored } from '../wallet-databases.ts';
import { counted, type PipelineContext } from './context.ts';

/** What a restore and a verify read. */
interface BackupRead {
  backup_version: BackupVersion;
  created_at: string;
  format: BackupFormat;
  sequence: bigint | null;
  entries: number;
}

/** Result of a restore. */
export interface RestoreResult extends BackupRead {
  /**
   * Where the wallet adapter keeps the data the restore replaced (the Node adapter: a
   * directory beside the wallet's), or null if there was none or it keeps none.
   */
  previous: string | null;
}

/** Result of a verify. */
export interface VerifyResult extends BackupRead {
  databases: number;
}

/** A backup opened from the server, plaintext not yet read. */
interface RemoteBackup {
  target: DownloadUrlResponse;
  opened: OpenedBackup;
  kind: ArchiveKind;
  /** The v2 sequence, or null for a legacy format. */
  sequence: bigint | null;
  /** The plaintext, with decrypt progress. */
  plaintext: AsyncIterable<Uint8Array>;
}

/**
 * download_url → download → open, then `body` on the opened backup; the plaintext and
 * the download under it always end with it, read or not (a generator never started
 * does not close its source on `return()`).
 */
async function withRemote<T>(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
  body: (remote: RemoteBackup) => Promise<T>,
): Promise<T> {
  const { api, signal } = ctx;
  const target = await api.downloadUrl({ backup_version: version ?? null }, { signal });
  // Our own cancellation of the download, for when the plaintext is abandoned.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let opened: OpenedBackup | undefined;
  try {
    const download = api.download(target, {
      signal: stop.signal,
      onProgress: (bytes, total) => ctx.progress('download', bytes, total),
    });
    opened = await openBackup(download, {
      keyring: ctx.keyring,
      ...(ctx.maxPlaintextBytes !== undefined ? { maxPlaintextBytes: ctx.maxPlaintextBytes } : {}),
    });
    let kind: ArchiveKind = 'zip';
    if (opened.header) {
      if (opened.header.payloadKind === 'raw')
        throw new NoahError('foreign_wallet', 'the backup does not hold a wallet archive');
      kind = opened.header.payloadKind;
    }
    return await body({
      target,
      opened,
      kind,
      sequence: opened.header?.sequence ?? null,
      plaintext: counted(opened.plaintext, (n) => ctx.progress('decrypt', n)),
    });
  } finally {
    await opened?.plaintext.return(undefined).catch(() => {});
    signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** What both pipelines report of the backup they read. */
function described(remote: RemoteBackup, entries: number): BackupRead {
  return {
    backup_version: remote.target.backup_version,
    created_at: remote.target.created_at,
    format: remote.opened.format,
    sequence: remote.sequence,
    entries,
  };
}

/**
 * Restores a backup (default: the latest) into the wallet. A backup that may be older
 * than the newest this device has seen throws `rollback_confirmation_required` unless
 * `confirmRollback` (docs/FORMAT.md §6.6), one without any database (no wallet)
 * `empty_backup` unless `confirmEmpty` (docs/WALLET.md §2); a restored v2 sequence above the known one
 * becomes the device's. The caller holds the lock and handles status.
 * @throws the refusals of the wallet port; whatever the download and decryption throw
 */
export function runRestore(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
  opts: { confirmRollback?: boolean; confirmEmpty?: boolean } = {},
): Promise<RestoreResult> {
  return withRemote(ctx, version, async (remote) => {
    const { target, sequence } = remote;
    const seen = await knownSequence(ctx, {
      version: target.backup_version,
      createdAt: target.created_at,
      sequence,
    });
    // What may be older than what this device has seen needs a yes.
    const refusal = rollbackRefusal(target.backup_version, remote.opened.format, sequence, seen);
    if (refusal && !opts.confirmRollback) throw refusal;
    const { entries, previous, databasePaths } = await ctx.wallet.restore(remote.plaintext, {
      kind: remote.kind,
      signal: ctx.signal,
      allowEmpty: opts.confirmEmpty === true,
      databases: await knownDatabases(ctx.state),
    });
    await rememberRestored(ctx.state, databasePaths);
    if (sequence !== null && sequence > seen)
      await ctx.state.set(SEQUENCE_KEY, sequence.toString());
    ctx.progress('swap', target.backup_size, target.backup_size);
    return { ...described(remote, entries), previous: previous ?? null };
  });
}

/**
 * Downloads, decrypts and checks a backup (default: the latest) without restoring it.
 * @throws as {@link runRestore}, but never for a rollback
 */
export function runVerify(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
): Promise<VerifyResult> {
  return withRemote(ctx, version, async (remote) => {
    const { entries, databases } = await ctx.wallet.verify(remote.plaintext, {
      kind: remote.kind,
      signal: ctx.signal,
    });
    ctx.progress('verify', remote.target.backup_size, remote.target.backup_size);
    return { ...described(remote, entries), databases };
  });
}
