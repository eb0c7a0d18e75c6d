/**
 * The restore and verify pipelines, the mirror of `backup.ts`, run by the manager (a
 * restore under its lock; a verify beside anything, since it only reads):
 * download_url → streamed download, resumed after a break (with a fresh URL if the old
 * one expired meanwhile) → open (format auto-detected, authenticated as it streams) →
 * for a restore, the rollback check (docs/FORMAT.md §6.6) → the wallet port stages,
 * checks and swaps (`restore`), or only checks (`verify`).
 * @module
 */
import type {
  BackupVersion,
  DownloadUrlResponse,
  DownloadUrlsResponse,
} from '@noah-backup/core/api';
import { NoahError, UnsupportedPayloadKindError } from '@noah-backup/core/errors';
import { type BackupFormat, type OpenedBackup, openBackup } from '@noah-backup/core/format';
import { ApiError } from '../errors.ts';
import { type ArchiveKind, isIncremental } from '../ports.ts';
import { knownSequence, rollbackRefusal, SEQUENCE_KEY } from '../sequence.ts';
import { knownDatabases, rememberRestored } from '../wallet-databases.ts';
import { identityOf, saveCache } from './cache.ts';
import { counted, type PipelineContext } from './context.ts';
import { manifestFill, openRemoteManifest, type RemoteManifest } from './incremental-restore.ts';

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
  target: DownloadUrlResponse,
  body: (remote: RemoteBackup) => Promise<T>,
): Promise<T> {
  const { api, signal } = ctx;
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

/**
 * Every URL the backup needs (`download_urls`); from a server without that route (404
 * `not_found`), the one-object answer of `download_url`.
 */
export async function targetOf(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
): Promise<DownloadUrlsResponse> {
  const req = { backup_version: version ?? null };
  try {
    return await ctx.api.downloadUrls(req, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && err.code === 'not_found')) throw err;
    return { ...(await ctx.api.downloadUrl(req, { signal: ctx.signal })), objects: [] };
  }
}

/** A manifest backup (objects listed) needs a wallet adapter that restores trees. */
function manifestWallet(ctx: PipelineContext) {
  const w = ctx.wallet;
  // Read as any backup of a newer client would be: not damaged, not readable here.
  const kind = 'manifest' as const;
  if (!isIncremental(w)) throw new UnsupportedPayloadKindError(kind);
  return w;
}

/** What both pipelines report of a manifest backup. */
function describedManifest(
  target: DownloadUrlsResponse,
  remote: RemoteManifest,
  entries: number,
): BackupRead {
  return {
    backup_version: target.backup_version,
    created_at: target.created_at,
    format: 'v2',
    sequence: remote.header.sequence,
    entries,
  };
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
export async function runRestore(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
  opts: { confirmRollback?: boolean; confirmEmpty?: boolean } = {},
): Promise<RestoreResult> {
  const target = await targetOf(ctx, version);
  if (target.objects.length > 0) return restoreManifest(ctx, target, opts);
  return withRemote(ctx, target, async (remote) => {
    const { sequence } = remote;
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
    // The cache described the data just replaced: the next backup is a full one.
    await ctx.cache?.clear().catch(() => {});
    ctx.progress('swap', target.backup_size, target.backup_size);
    return { ...described(remote, entries), previous: previous ?? null };
  });
}

/**
 * Restores a manifest backup: the rollback check on its authenticated sequence, then
 * the wallet port stages, proves and swaps; the device cache is rebuilt from the
 * restored manifest, so the next backup here is incremental.
 */
async function restoreManifest(
  ctx: PipelineContext,
  target: DownloadUrlsResponse,
  opts: { confirmRollback?: boolean },
): Promise<RestoreResult> {
  const wallet = manifestWallet(ctx);
  const remote = await openRemoteManifest(ctx, target);
  const sequence = remote.header.sequence;
  const seen = await knownSequence(ctx, {
    version: target.backup_version,
    createdAt: target.created_at,
    sequence,
  });
  const refusal = rollbackRefusal(target.backup_version, 'v2', sequence, seen);
  if (refusal && !opts.confirmRollback) throw refusal;
  let pages = new Map<string, Uint8Array>();
  const { entries, previous, databasePaths } = await wallet.restoreTree(
    manifestFill(ctx, target, remote, (p) => {
      pages = p;
    }),
    { signal: ctx.signal, databases: await knownDatabases(ctx.state) },
  );
  await rememberRestored(ctx.state, databasePaths);
  if (sequence > seen) await ctx.state.set(SEQUENCE_KEY, sequence.toString());
  if (ctx.cache) {
    // The manifest's key is the next backup's `base`, its compare-and-swap; a server
    // that does not name it gets a completion without `base` (docs/FORMAT.md §8.8).
    const identity = identityOf(target, target.s3_key ?? '', remote.sha256, sequence);
    await saveCache(
      ctx.cache,
      ctx.keyring,
      { identity, manifest: remote.manifest, encodedManifest: remote.encoded, pages },
      ctx.clock.now(),
    ).catch((err: unknown) =>
      ctx.logger.warn('could not save the device cache; the next backup is a full one', {
        code: (err as { code?: string }).code ?? 'unexpected',
      }),
    );
  }
  ctx.progress('swap', target.backup_size, target.backup_size);
  return { ...describedManifest(target, remote, entries), previous: previous ?? null };
}

/**
 * Downloads, decrypts and checks a backup (default: the latest) without restoring it;
 * `onTarget` is told which backup before any of it is read.
 * @throws as {@link runRestore}, but never for a rollback
 */
export async function runVerify(
  ctx: PipelineContext,
  version: BackupVersion | undefined,
  onTarget: (target: DownloadUrlsResponse) => void = () => {},
): Promise<VerifyResult> {
  const target = await targetOf(ctx, version);
  onTarget(target);
  return verifyTarget(ctx, target);
}

/** Verifies the backup `target` names ({@link targetOf}): every object, every database. */
export async function verifyTarget(
  ctx: PipelineContext,
  target: DownloadUrlsResponse,
): Promise<VerifyResult> {
  if (target.objects.length > 0) {
    const wallet = manifestWallet(ctx);
    const remote = await openRemoteManifest(ctx, target);
    const { entries, databases } = await wallet.verifyTree(
      manifestFill(ctx, target, remote, () => {}),
      { signal: ctx.signal },
    );
    ctx.progress('verify', target.backup_size, target.backup_size);
    return { ...describedManifest(target, remote, entries), databases };
  }
  return withRemote(ctx, target, async (remote) => {
    const { entries, databases } = await ctx.wallet.verify(remote.plaintext, {
      kind: remote.kind,
      signal: ctx.signal,
    });
    ctx.progress('verify', remote.target.backup_size, remote.target.backup_size);
    return { ...described(remote, entries), databases };
  });
}
