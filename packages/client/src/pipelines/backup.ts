/**
 * The backup pipeline, run by the manager under its lock: snapshot → encrypt
 * (streaming) → spool (size known) → upload_url → PUT → complete_upload. Temp files are
 * always removed; a failure never touches the server's previous backups (the server
 * only switches after completion, and nothing here deletes). Its mirror is `restore.ts`.
 * @module
 */
import type { BackupInfo, SettingsResponse } from '@noah-backup/core/api';
import { bytesToHex } from '@noah-backup/core/bytes';
import {
  type CompressionAlgorithm,
  encryptBackup,
  preferredCompression,
} from '@noah-backup/core/format';
import { platform } from '@noah-backup/core/platform';
import { checkCompression } from '@noah-backup/core/v2';
import { DEFAULT_LIMITS } from '../archive/guards.ts';
import { toNoahLayout } from '../archive/noah-write.ts';
import { BackupTooLargeError, mib } from '../errors.ts';
import { ApiError } from '../errors.ts';
import {
  type ArchiveKind,
  isIncremental,
  type PageSnapshot,
  type SpooledBlob,
  type WalletSnapshot,
} from '../ports.ts';
import { knownSequence, SEQUENCE_KEY } from '../sequence.ts';
import { DATABASES_KEY, knownDatabases, refuseLostDatabases } from '../wallet-databases.ts';
import { notAWallet } from '../wallet-refusals.ts';
import { counted, type PipelineContext } from './context.ts';
import { runIncrementalBackup } from './incremental.ts';
import type { BackupResult } from './results.ts';

/**
 * The zlib level of a v2 backup compressed with deflate unless the manager is told
 * otherwise: 3. Measured with
 * `noah-backup backup` of `demo-wallet --size-mb 100` to a loopback server (2 cores,
 * shared machine, medians of 3): level 1 4.8 s, 53.56 MB; level 3 4.9 s, 53.10 MB;
 * level 6 6.1 s, 52.73 MB (single-stream level 6 before parallel segments: 7.0 s).
 * Level 3 keeps nearly all of level 1's speed (zlib uses its fast matcher for both) at
 * half its size cost. Against level 6 it uploads 0.7% (0.37 MB) more and compresses
 * 1.2 s faster: the smaller upload wins only below about 2.5 Mbit/s, so level 3 suits
 * loopback and most mobile links alike; an app for very slow links can ask for 6.
 * Wallet data is mostly random keys and hashes, so higher levels gain little. The web
 * platform has no levels (CompressionStream) and ignores this.
 */
export const BACKUP_COMPRESSION_LEVEL = 3;

/**
 * The zstd level of a v2 backup unless the manager is told otherwise: 1. Measured on the
 * tar of a 100 MB demo wallet with 2 zstd workers (2 cores): level 1 179 ms, 50.6% of
 * the input; level 2 226 ms, 50.5%; level 3 503 ms, 51.4% (larger: wallet data is
 * mostly random keys and hashes, and level 3's matcher finds no more in it). zlib at
 * level 3 took 1.3 s of the backup for 51.6%.
 */
export const BACKUP_ZSTD_LEVEL = 1;

/**
 * The compression a backup uses: the manager's choice, or the platform's preferred one
 * (zstd on Node, deflate on the web), at the given level or that algorithm's default.
 * @throws RangeError / TypeError for an algorithm or level out of range
 */
export async function backupCompression(
  algorithm: CompressionAlgorithm | undefined,
  level: number | undefined,
): Promise<{ algorithm: CompressionAlgorithm; level: number }> {
  const chosen = algorithm ?? (await preferredCompression());
  return checkCompression(
    chosen,
    level ?? (chosen === 'zstd' ? BACKUP_ZSTD_LEVEL : BACKUP_COMPRESSION_LEVEL),
  );
}

/**
 * How far over the limit an estimate must be to refuse before the snapshot: the
 * estimate runs a few percent high on wallet data (sampled deflate against the real
 * backup), and a backup near the limit is decided by its real size, never refused on a
 * guess.
 */
export const CLEARLY_OVER = 2;

/** Refuses a backup whose estimate is {@link CLEARLY_OVER} times the limit, if the wallet estimates. */
async function refuseClearlyTooLarge(ctx: PipelineContext, limit: number): Promise<void> {
  const guess = await ctx.wallet.estimateBackup?.(limit, { signal: ctx.signal });
  if (!guess || guess.estimate <= CLEARLY_OVER * limit) return;
  throw new BackupTooLargeError(
    limit,
    guess.bytes,
    `estimated at ${mib(guess.estimate)} from ${mib(guess.bytes)} of wallet data, before the snapshot`,
  );
}

/** Passes `source` on until more than `limit` bytes have passed, then throws `tooLarge()`. */
async function* capped(
  source: AsyncIterable<Uint8Array>,
  limit: number,
  tooLarge: () => Error,
): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.byteLength;
    if (n > limit) throw tooLarge();
    yield chunk;
  }
}

/** Passes `source` on, hashing it (SHA-256); `digest()` once it has ended. */
function hashed(source: AsyncIterable<Uint8Array>) {
  const hash = platform.sha256();
  let digest: Uint8Array | undefined;
  async function* stream(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
    digest = hash.digest();
  }
  return {
    stream: stream(),
    hex(): string {
      if (!digest) throw new Error('the stream has not ended');
      return bytesToHex(digest);
    },
  };
}

export type { BackupResult } from './results.ts';

/** Whether a backup of `ctx` will be an incremental one (docs/FORMAT.md §8). */
function incrementalOf(ctx: PipelineContext) {
  const { wallet, cache } = ctx;
  return ctx.incremental && ctx.format === 'v2' && cache && isIncremental(wallet)
    ? { wallet, cache }
    : null;
}

/**
 * A page snapshot taken while the server is still asked whether it takes this backup
 * (see {@link earlySnapshot}).
 */
export interface EarlySnapshot {
  /** The databases of the last backup (device state), which the snapshot was given. */
  readonly databases: Promise<readonly string[]>;
  readonly snapshot: Promise<PageSnapshot>;
  /**
   * Stops it if it is still being taken and removes its files (and its integrity check).
   * Idempotent; safe after {@link runBackup} used it. Always call it.
   */
  discard(): Promise<void>;
}

/**
 * Starts the page snapshot of an incremental backup at once, so that its integrity
 * check, the backup's longest step, run while the settings are asked
 * (docs/WALLET.md §5); reading the wallet sends nothing, so a backup the server refuses
 * still sends nothing. Null when the backup will not be an incremental one: today's
 * flow, the snapshot after the settings. Pass it to {@link runBackup}, then
 * `discard()` it whatever happened.
 */
export function earlySnapshot(ctx: PipelineContext): EarlySnapshot | null {
  const inc = incrementalOf(ctx);
  if (!inc) return null;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (ctx.signal.aborted) stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const databases = knownDatabases(ctx.state);
  const snapshot = databases.then((dbs) => {
    ctx.progress('snapshot', 0);
    return inc.wallet.pageSnapshot({
      signal: stop.signal,
      databases: dbs,
      onProgress: (bytes, total) => ctx.progress('snapshot', bytes, total),
    });
  });
  snapshot.catch(() => {}); // awaited by the backup, or dropped by discard()
  return {
    databases,
    snapshot,
    async discard() {
      ctx.signal.removeEventListener('abort', onAbort);
      stop.abort(); // a snapshot still being taken stops and removes its files itself
      const snap = await snapshot.catch(() => undefined);
      await snap?.cleanup().catch(() => {});
    },
  };
}

/**
 * Runs one backup. The caller holds the lock and handles status. A database of the last
 * backup that is gone refuses it unless `acceptMissingDatabases` (docs/WALLET.md §1).
 * `settings`: the server's settings when the caller has just asked them (not asked again).
 * `early`: the incremental backup's snapshot, started by the caller ({@link earlySnapshot}),
 * which discards it afterwards.
 * @throws whatever step failed; temp files are removed either way
 */
export async function runBackup(
  ctx: PipelineContext,
  opts: {
    acceptMissingDatabases?: boolean;
    settings?: SettingsResponse;
    early?: EarlySnapshot | null;
  } = {},
): Promise<BackupResult> {
  // The server's size limit before the work (docs/API.md, settings), asked once (or
  // given by the caller, who asked them already) and passed down: a wallet clearly over
  // it is refused on an estimate, before anything is sealed (an incremental backup's
  // snapshot, started early by the caller, is then discarded), and a backup over it
  // stops as soon as its encrypted output passes it, not after a 413.
  const settings = opts.settings ?? (await ctx.api.getSettings({ signal: ctx.signal }));
  const limit = settings.max_backup_size;
  if (limit !== undefined) await refuseClearlyTooLarge(ctx, limit);
  const inc = incrementalOf(ctx);
  if (inc) {
    const { wallet, cache } = inc;
    const databases = await (opts.early?.databases ?? knownDatabases(ctx.state));
    try {
      const done = await runIncrementalBackup({ ...ctx, wallet }, cache, databases, {
        acceptMissingDatabases: opts.acceptMissingDatabases,
        limit: limit ?? null,
        ...(opts.early ? { snapshot: opts.early.snapshot } : {}),
      });
      await ctx.state.set(DATABASES_KEY, JSON.stringify(done.databases));
      const { databases: _, ...result } = done;
      return result;
    } catch (err) {
      // A server without `upload_urls` (docs/API.md): today's one-object backup.
      if (!(err instanceof ApiError && err.status === 404 && err.code === 'not_found')) throw err;
      ctx.logger.info('the server makes no incremental backups; backing up as one object');
    }
  }
  return runOneObject(ctx, opts, limit);
}

/** Today's one-object backup: the whole wallet as one archive, at most `limit` bytes. */
async function runOneObject(
  ctx: PipelineContext,
  opts: { acceptMissingDatabases?: boolean },
  limit: number | undefined,
): Promise<BackupResult> {
  const { api, signal } = ctx;
  const v2 = ctx.format === 'v2';
  // tar for v2 (docs/FORMAT.md §5.3, payload kind), ZIP for the legacy formats.
  const kind: ArchiveKind = v2 ? 'tar' : 'zip';
  // FORMAT.md §6.6: continue the highest sequence known, read from the server if need be.
  const sequence = v2 ? (await knownSequence(ctx)) + 1n : null;
  let snapshot: WalletSnapshot | undefined;
  let spooled: SpooledBlob | undefined;
  try {
    ctx.progress('snapshot', 0);
    const databases = await knownDatabases(ctx.state);
    snapshot = await ctx.wallet.snapshot({
      kind,
      signal,
      databases,
      onProgress: (bytes, total) => ctx.progress('snapshot', bytes, total),
    });
    // Every platform's adapter should refuse this itself; checked here too, because an
    // upload of no wallet would replace a good backup (docs/WALLET.md §1).
    if (snapshot.databases.length === 0)
      throw notAWallet('the wallet data holds no database, so there is no wallet to back up');
    refuseLostDatabases(databases, snapshot, opts.acceptMissingDatabases);
    ctx.logger.info('snapshot taken', {
      entries: snapshot.entries,
      databases: snapshot.databases.length,
    });
    // docs/FORMAT.md §4.5: noah-v1 is for Noah's app, which restores only its own layout.
    const archive =
      ctx.format === 'noah-v1'
        ? toNoahLayout(snapshot.archive, {
            variant: ctx.noahVariant,
            mtime: ctx.clock.now(),
            limits: DEFAULT_LIMITS,
          })
        : snapshot.archive;
    const archiveBytes = snapshot.bytes;
    let read = 0;
    const encrypted = encryptBackup(
      // The archive is a little larger than the files in it (headers): a close total.
      counted(archive, (n) => {
        read = n;
        ctx.progress('encrypt', n, archiveBytes);
      }),
      {
        format: ctx.format,
        keyring: ctx.keyring,
        createdAt: ctx.clock.now(),
        ...(sequence !== null
          ? {
              sequence,
              payloadKind: kind,
              compression: ctx.compression.algorithm,
              compressionLevel: ctx.compression.level,
            }
          : {}),
      },
    );
    const bounded =
      typeof limit === 'number'
        ? capped(encrypted, limit, () => {
            const of = archiveBytes === undefined ? '' : ` of ${mib(archiveBytes)}`;
            return new BackupTooLargeError(
              limit,
              archiveBytes,
              `stopped after encrypting ${mib(read)}${of} of wallet data`,
            );
          })
        : encrypted;
    // The ciphertext's SHA-256, measured as it is spooled: named to the server, its store
    // refuses a body altered on the way (docs/API.md "Checksums").
    const measured = hashed(bounded);
    spooled = await ctx.spooler.spool(measured.stream, { signal });
    const size = spooled.size;
    const sha256 = measured.hex();
    const target = await api.uploadUrl({ backup_size: size, sha256 }, { signal });
    let backup: BackupInfo;
    try {
      await api.upload(target, spooled, {
        signal,
        onProgress: (bytes, total) => ctx.progress('upload', bytes, total),
      });
      backup = await api.completeUpload(
        {
          s3_key: target.s3_key,
          backup_version: target.backup_version,
          backup_size: size,
          sha256,
        },
        { signal },
      );
    } catch (err) {
      await giveBack(ctx, target.s3_key);
      throw err;
    }
    if (sequence !== null) await ctx.state.set(SEQUENCE_KEY, sequence.toString());
    await ctx.state.set(DATABASES_KEY, JSON.stringify(snapshot.databases));
    ctx.progress('complete', size, size);
    ctx.logger.info('backup completed', { version: backup.backup_version, bytes: size });
    return { backup, sequence, bytes: size };
  } finally {
    await Promise.allSettled([snapshot?.cleanup(), spooled?.cleanup()]);
  }
}

/** How long giving an upload back may take before the failure is reported anyway. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * Gives a pending upload back after the backup gave up on it (docs/API.md
 * "cancel_upload"), so failed attempts do not use up the user's pending uploads. Best
 * effort and bounded in time: the sweeper frees it anyway once its URL expires. Safe
 * when the completion did reach the server: a completed backup is never cancelled.
 */
async function giveBack(ctx: PipelineContext, s3Key: string): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CANCEL_TIMEOUT_MS);
  try {
    await ctx.api.cancelUpload({ s3_key: s3Key }, { signal: controller.signal });
  } catch (err) {
    ctx.logger.warn('could not cancel the abandoned upload', {
      code: (err as { code?: string }).code ?? 'unexpected',
    });
  } finally {
    clearTimeout(timer);
  }
}
