/**
 * The BackupManager: `isBackupEnabled`, `setBackupEnabled`, `triggerBackup`,
 * `listBackups`, `restoreBackup`, `deleteBackup`, `verifyBackup` and
 * `handleBackupNotification` (the daily push, docs/PUSH.md), with a persisted status and
 * live progress. It owns the policy around the work: the device-wide lock, the status,
 * the settings, when a push may back up, what is reported to the server. The work
 * itself is the pipelines' (`pipelines/backup.ts`, `pipelines/restore.ts`).
 * Isomorphic: files, databases and storage are reached only through the ports.
 * @module
 */
import type {
  BackupInfo,
  BackupVersion,
  ListResponse,
  SettingsResponse,
} from '@noah-backup/core/api';
import { aint } from '@noah-backup/core/bytes';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import type { BackupFormat, CompressionAlgorithm } from '@noah-backup/core/format';
import { checkCompression, MAX_ZSTD_LEVEL } from '@noah-backup/core/v2';
import type { Keyring } from '@noah-backup/core/keys';
import type { ApiClient } from './api-client.ts';
import { checkNoahVariant, NOAH_DEFAULT_VARIANT, type NoahVariant } from './archive/noah-write.ts';
import { type BackupLock, createBackupLock, type ProcessProbe } from './backup-lock.ts';
import { AbortedError, NetworkError } from './errors.ts';
import { type Logger, silentLogger } from './logger.ts';
import { backupCompression, earlySnapshot, runBackup } from './pipelines/backup.ts';
import type { PipelineContext } from './pipelines/context.ts';
import type { IncrementalStats } from './pipelines/incremental.ts';
import {
  type RestoreResult,
  runRestore,
  runVerify,
  type VerifyResult,
} from './pipelines/restore.ts';
import type { DeviceCacheStore, DeviceStateStore, Spooler, WalletDataAdapter } from './ports.ts';
import { serverSequence, storedSequence } from './sequence.ts';
import {
  type Activity,
  type BackupStatus,
  createSnapshotStore,
  type ErrorSummary,
  type ManagerSnapshot,
  parseStatus,
  type SnapshotListener,
  sameUtcDay,
  summarizeError,
} from './status.ts';
import {
  createVerifier,
  DEFAULT_VERIFY_EVERY_MS,
  DEFAULT_VERIFY_SHARES,
  type VerificationOutcome,
} from './verification.ts';

/** State store keys. */
const STATUS_KEY = 'backup_status';
const ENABLED_KEY = 'backup_enabled';

/** Options of {@link createBackupManager}. */
export interface BackupManagerOptions {
  api: ApiClient;
  /** The session's keys (`createSessionKeys`); only the keyring is used here. */
  keys: { keyring: Keyring };
  wallet: WalletDataAdapter;
  spooler: Spooler;
  state: DeviceStateStore;
  /**
   * The device cache of incremental backups (Node: `createFileCacheStore`). With it, a
   * wallet adapter that takes page snapshots and a server with `upload_urls`, backups are
   * incremental (docs/FORMAT.md §8); without it, one object each.
   */
  cache?: DeviceCacheStore;
  /** Set false to make one-object backups even where incremental ones are possible. */
  incremental?: boolean;
  clock?: Clock;
  /** Format to write (default v2; the legacy ones for old readers only). */
  format?: BackupFormat;
  /**
   * Compression of v2 backups: `'zstd'` (the default where the platform writes it: Node)
   * or `'deflate'` (the default elsewhere: the web). The legacy formats never compress.
   */
  compression?: CompressionAlgorithm;
  /**
   * Level of that compression: zstd 1..19, default {@link BACKUP_ZSTD_LEVEL}; zlib 1..9,
   * default {@link BACKUP_COMPRESSION_LEVEL}. An app on metered mobile data may prefer a
   * higher one (smaller uploads, slower backups).
   */
  compressionLevel?: number;
  /** Plaintext cap on restore and verify (default: the format's own). */
  maxPlaintextBytes?: number;
  /**
   * noah-v1 only: the build of Noah's app that will restore the backups, whose
   * `noah-data-<variant>` folder the ZIP holds (docs/FORMAT.md §4.5; default `mainnet`).
   */
  noahVariant?: NoahVariant;
  /** Lock lifetime without renewal, ms (default 5 min); renewed every quarter of it. */
  lockTtlMs?: number;
  /** Frees the lock of a process known to be gone (Node: `nodeProcessProbe()`). */
  processProbe?: ProcessProbe;
  /**
   * How often the device verifies the newest backup after a trigger's backup work, ms
   * (default weekly, {@link DEFAULT_VERIFY_EVERY_MS}; and right after the first backup);
   * 0 turns scheduled verification off (docs/API.md "Verification").
   */
  verifyEveryMs?: number;
  /**
   * Shares of a manifest backup's packs (default {@link DEFAULT_VERIFY_SHARES}): each
   * run reads one, runs come this many times a period, so every pack is read within it.
   */
  verifyShares?: number;
  logger?: Logger;
}

/** Result of {@link BackupManager.triggerBackup}. */
export type TriggerResult =
  | {
      status: 'completed';
      backup: BackupInfo;
      sequence: bigint | null;
      bytes: number;
      /** What an incremental backup sent; absent for a one-object backup. */
      incremental?: IncrementalStats;
      /** The scheduled verification that ran after it, when one was due. */
      verification?: VerificationOutcome;
    }
  | { status: 'skipped'; reason: 'running' };

export type { VerificationOutcome } from './verification.ts';

export type { RestoreResult, VerifyResult } from './pipelines/restore.ts';

/** Result of {@link BackupManager.handleBackupNotification}. */
export type NotificationResult =
  | { skipped: 'ignored' | 'running' | 'disabled' | 'not_restored' | 'not_allowed' }
  | { skipped: 'recent'; verification?: VerificationOutcome }
  | { status: 'success'; backup: BackupInfo }
  | { status: 'failure'; error: ErrorSummary };

/** Options of a cancellable operation. */
export interface OperationOptions {
  signal?: AbortSignal;
}

/** Options of {@link BackupManager.triggerBackup}. */
export interface BackupOptions {
  /**
   * Back up even though a database the last backup held is gone from the wallet
   * (deleted or renamed): the user says it was removed on purpose. Without it such a
   * backup is refused (`wallet_database_missing`), as are automatic ones always
   * (docs/WALLET.md §1).
   */
  acceptMissingDatabases?: boolean;
}

/** The manager. */
export interface BackupManager {
  /** The server's `backup_enabled` (falls back to the last known value when offline). */
  isBackupEnabled(): Promise<boolean>;
  setBackupEnabled(enabled: boolean): Promise<void>;
  /**
   * Backs up now, unless a backup or restore is running on this device; then verifies
   * the newest backup if a scheduled verification is due. Refuses with
   * `backups_not_enabled`, uploading nothing, when the server's settings say it takes no
   * backups of this user now (`backups_allowed: false`).
   */
  triggerBackup(opts?: OperationOptions & BackupOptions): Promise<TriggerResult>;
  /** Completed backups, newest first. */
  listBackups(): Promise<ListResponse>;
  /**
   * Restores a backup (default: the latest) into the wallet. A backup that may be older
   * than the newest this device has seen throws `rollback_confirmation_required` unless
   * confirmed: a v2 backup with a lower sequence, and a legacy one (no sequence) once
   * this device knows of any v2 backup (FORMAT.md §6.6). A backup that holds no
   * database (no wallet) throws `empty_backup` unless `confirmEmpty` (docs/WALLET.md §2).
   */
  restoreBackup(
    version?: BackupVersion,
    opts?: OperationOptions & { confirmRollback?: boolean; confirmEmpty?: boolean },
  ): Promise<RestoreResult>;
  deleteBackup(version: BackupVersion): Promise<void>;
  /**
   * Downloads, decrypts and checks a backup (default: the latest) without restoring it,
   * every object and database; the outcome is reported to the server and kept as the
   * status's `lastVerification`.
   */
  verifyBackup(version?: BackupVersion, opts?: OperationOptions): Promise<VerifyResult>;
  /**
   * Handles a push's data payload (`{type: 'backup_trigger', notification_id}`); never
   * throws. A React Native app calls it from its background notification handler, e.g.
   * with expo-notifications: `TaskManager.defineTask(TASK, ({ data }) =>
   * manager.handleBackupNotification(data.body ?? data))` plus
   * `Notifications.registerTaskAsync(TASK)`; with UnifiedPush, from the distributor's
   * `onMessage` after `JSON.parse` of the message.
   *
   * Skips (`not_restored`) on a device that has neither restored nor made a v2 backup
   * while the server holds v2 backups of this seedphrase (a new phone, a reinstall):
   * `restoreBackup()` or an explicit `triggerBackup()` ends that (docs/PUSH.md §3).
   *
   * `signal` cancels the backup (the platform's background budget is running out,
   * docs/PUSH.md §3): it is reported as a `failure` with the code `aborted`, and a later
   * call for the same trigger may still report its success.
   */
  handleBackupNotification(data: unknown, opts?: OperationOptions): Promise<NotificationResult>;
  /** The backup status (as loaded from the state store once {@link ready} resolves). */
  getStatus(): BackupStatus;
  /** Status, activity, progress and enabled flag as one immutable snapshot. */
  getSnapshot(): ManagerSnapshot;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: SnapshotListener): () => void;
  /** Resolves once the persisted status is loaded. */
  readonly ready: Promise<void>;
}

/**
 * Creates a BackupManager.
 *
 * @param opts - API client, session keys, platform adapters, clock, format,
 *   compression, compressionLevel, logger
 * @throws TypeError / RangeError for a compression that is not zstd or deflate, or a
 *   compressionLevel out of its range (1..19; 1..9 for deflate); RangeError for a
 *   noahVariant other than mainnet, signet, regtest
 * @example
 * ```ts
 * const manager = createBackupManager({ api, keys, wallet, spooler, state });
 * manager.subscribe((s) => console.log(s.status.state, s.progress));
 * await manager.triggerBackup();
 * ```
 */
export function createBackupManager(opts: BackupManagerOptions): BackupManager {
  const { api, wallet, spooler, state } = opts;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const format: BackupFormat = opts.format ?? 'v2';
  const noahVariant = checkNoahVariant(opts.noahVariant ?? NOAH_DEFAULT_VARIANT);
  // Checked now as far as it can be: the default algorithm is known only once the
  // platform has been asked, so without one the level is checked against zstd's range
  // now, and against the algorithm's own at the first backup.
  if (opts.compression !== undefined) checkCompression(opts.compression, opts.compressionLevel);
  else if (opts.compressionLevel !== undefined)
    aint('compressionLevel', opts.compressionLevel, 1, MAX_ZSTD_LEVEL);
  let compression: Promise<{ algorithm: CompressionAlgorithm; level: number }> | undefined;
  const compressionOf = () => {
    compression ??= backupCompression(opts.compression, opts.compressionLevel);
    return compression;
  };
  const store = createSnapshotStore();
  const lock: BackupLock = createBackupLock({
    state,
    clock,
    ttlMs: opts.lockTtlMs,
    logger,
    processProbe: opts.processProbe,
  });
  const now = () => clock.now().toISOString();

  const setStatus = async (patch: Partial<BackupStatus>) => {
    const status = { ...store.get().status, ...patch };
    store.update({ status });
    await state.set(STATUS_KEY, JSON.stringify(status));
  };

  const ready = (async () => {
    let status = parseStatus(await state.get(STATUS_KEY));
    // A persisted "in progress" without a live lock is a run that crashed.
    if (status.state === 'in_progress' && !(await lock.isHeld())) {
      status = {
        ...status,
        state: 'failed',
        lastError: { code: 'interrupted', message: 'the last backup was interrupted' },
      };
      await state.set(STATUS_KEY, JSON.stringify(status));
    }
    const enabled = await state.get(ENABLED_KEY);
    store.update({ status, backupEnabled: enabled === null ? null : enabled === 'true' });
  })();
  ready.catch((err) => logger.warn('could not load the backup status', summarizeError(err)));

  /** Runs `fn` under the lock with a pipeline context; null if the lock is taken. */
  const locked = async <T>(
    activity: Activity,
    signal: AbortSignal | undefined,
    fn: (ctx: PipelineContext) => Promise<T>,
  ): Promise<{ value: T } | null> => {
    const lease = await lock.acquire();
    if (!lease) return null;
    try {
      return { value: await withContext(activity, [signal, lease.lost], fn) };
    } finally {
      await lease.release();
    }
  };

  const withContext = async <T>(
    activity: Activity,
    signals: (AbortSignal | undefined)[],
    fn: (ctx: PipelineContext) => Promise<T>,
  ): Promise<T> => {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    for (const s of signals) {
      if (s?.aborted) controller.abort();
      s?.addEventListener('abort', onAbort, { once: true });
    }
    store.update({ activity, progress: null });
    try {
      return await fn({
        api,
        keyring: opts.keys.keyring,
        wallet,
        spooler,
        state,
        cache: opts.cache,
        incremental: opts.incremental !== false,
        clock,
        logger,
        format,
        compression: await compressionOf(),
        maxPlaintextBytes: opts.maxPlaintextBytes,
        noahVariant,
        signal: controller.signal,
        progress: (phase, bytes, totalBytes) =>
          store.update({
            progress:
              totalBytes === undefined
                ? { activity, phase, bytes }
                : { activity, phase, bytes, totalBytes },
          }),
      });
    } catch (err) {
      // Name a cancellation for what it is, whatever layer noticed it first.
      if (controller.signal.aborted && !(err instanceof AbortedError)) throw new AbortedError();
      throw err;
    } finally {
      for (const s of signals) s?.removeEventListener('abort', onAbort);
      store.update({ activity: null, progress: null });
    }
  };

  const busy = () => new NoahError('busy', 'a backup or restore is already running on this device');

  const verifier = createVerifier({
    state,
    clock,
    logger,
    everyMs: opts.verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS,
    shares: opts.verifyShares ?? DEFAULT_VERIFY_SHARES,
    last: () => store.get().status.lastVerification ?? null,
    record: (lastVerification) => setStatus({ lastVerification }),
    report: (req) => report(req),
    withContext: (signal, fn) => withContext('verify', [signal], fn),
  });

  const report = async (req: Parameters<ApiClient['report']>[0]) => {
    try {
      await api.report(req);
    } catch (err) {
      logger.warn('could not report the outcome to the server', summarizeError(err));
    }
  };

  /**
   * The backup of `triggerBackup`, without the verification that may follow it (a push
   * reports its backup first, then verifies within what is left of its budget).
   */
  const backUp = async (o?: OperationOptions & BackupOptions) => {
    await ready;
    const started = now();
    const result = await locked('backup', o?.signal, async (ctx) => {
      // An incremental backup's snapshot (its integrity check takes longest)
      // starts now, while the server is asked whether it takes the backup: nothing is
      // sent before it answers, and a refusal discards the snapshot (docs/WALLET.md §5).
      const early = earlySnapshot(ctx);
      try {
        await setStatus({ state: 'in_progress', lastAttemptAt: started });
        try {
          const settings = await allowedNow(ctx.signal);
          const done = await runBackup(ctx, {
            acceptMissingDatabases: o?.acceptMissingDatabases === true,
            settings,
            early,
          });
          await setStatus({ state: 'success', lastSuccessAt: now(), lastError: null });
          return done;
        } catch (err) {
          await setStatus({ state: 'failed', lastError: summarizeError(err) }).catch(() => {});
          logger.warn('backup failed', summarizeError(err));
          throw err;
        }
      } finally {
        await early?.discard();
      }
    });
    return result ? result.value : null;
  };

  const triggerBackup = async (o?: OperationOptions & BackupOptions): Promise<TriggerResult> => {
    const done = await backUp(o);
    if (!done) return { status: 'skipped', reason: 'running' };
    const verification = await verifier.verifyIfDue(o?.signal);
    return { status: 'completed', ...done, ...(verification ? { verification } : {}) };
  };

  /**
   * A new phone or a reinstall: no v2 backup made or restored here (no stored sequence),
   * while the server holds v2 backups of this seedphrase. Nothing says this device's
   * wallet data descends from them (it may be a fresh, empty wallet), so a push must not
   * replace them: two daily backups would. Restoring, or an explicit `triggerBackup`
   * (the user's choice), stores a sequence and ends this. Legacy backups carry no
   * sequence and do not count: a device upgraded from the apps that wrote them keeps
   * backing up.
   */
  const notRestoredHere = async (): Promise<boolean> =>
    (await storedSequence(state)) === null &&
    (await serverSequence({ api, keyring: opts.keys.keyring, state, logger })) > 0n;

  /** The settings' rollout fields for the snapshot; an older server's silence allows. */
  const rollout = (res: SettingsResponse) => ({
    backupsAllowed: res.backups_allowed ?? true,
    backupsNotAllowedReason:
      res.backups_allowed === false ? (res.backups_not_allowed_reason ?? null) : null,
  });

  /**
   * Refuses a backup the server would refuse (its rollout switch, docs/OPERATIONS.md
   * "Rollout") before anything is sent (an incremental backup's snapshot, taken
   * meanwhile, is then discarded); an older server's silence allows.
   * Returns the settings, which the backup then uses (its size limit): asked once.
   * @throws NoahError `backups_not_enabled`
   */
  const allowedNow = async (signal: AbortSignal): Promise<SettingsResponse> => {
    const res = await api.getSettings({ signal });
    store.update(rollout(res));
    if (res.backups_allowed !== false) return res;
    const why =
      res.backups_not_allowed_reason === 'rollout_pending'
        ? 'backups are being rolled out to a share of users, not yet this one'
        : 'the server takes no new backups at the moment';
    throw new NoahError('backups_not_enabled', `backup refused: ${why}`);
  };

  const isBackupEnabled = async (): Promise<boolean> => {
    try {
      const res = await api.getSettings();
      await state.set(ENABLED_KEY, String(res.backup_enabled));
      store.update({ backupEnabled: res.backup_enabled, ...rollout(res) });
      return res.backup_enabled;
    } catch (err) {
      const cached = await state.get(ENABLED_KEY);
      if (err instanceof NetworkError && cached !== null) return cached === 'true';
      throw err;
    }
  };

  return {
    ready,
    isBackupEnabled,
    async setBackupEnabled(enabled) {
      const res = await api.setSettings({ backup_enabled: enabled });
      await state.set(ENABLED_KEY, String(res.backup_enabled));
      store.update({ backupEnabled: res.backup_enabled, ...rollout(res) });
    },
    triggerBackup,
    listBackups: () => api.list(),
    async deleteBackup(version) {
      await api.delete({ backup_version: version });
    },
    async restoreBackup(version, o) {
      await ready;
      try {
        // A restore takes the lock: no backup may snapshot a wallet being swapped.
        const result = await locked('restore', o?.signal, (ctx) =>
          runRestore(ctx, version, {
            confirmRollback: o?.confirmRollback,
            confirmEmpty: o?.confirmEmpty,
          }),
        );
        if (!result) throw busy();
        // Advisory, like every status: failing to record it does not undo the restore.
        await setStatus({
          restoredFrom: { backupCreatedAt: result.value.created_at, restoredAt: now() },
        }).catch((err) => logger.warn('could not record the restore', summarizeError(err)));
        await report({ kind: 'restore', status: 'success' });
        return result.value;
      } catch (err) {
        const code = summarizeError(err).code;
        if (code !== 'rollback_confirmation_required' && code !== 'aborted' && code !== 'busy')
          await report({ kind: 'restore', status: 'failure', error: code });
        throw err;
      }
    },
    // A verify only reads: it runs beside anything, without the lock.
    verifyBackup: (version, o) =>
      verifier.recorded((onTarget) =>
        withContext('verify', [o?.signal], (ctx) => runVerify(ctx, version, onTarget)),
      ),
    async handleBackupNotification(data, o) {
      const payload = data as { type?: unknown; notification_id?: unknown } | null;
      if (!payload || typeof payload !== 'object' || payload.type !== 'backup_trigger')
        return { skipped: 'ignored' };
      const notificationId =
        typeof payload.notification_id === 'string' && payload.notification_id.length <= 200
          ? payload.notification_id
          : undefined;
      try {
        await ready;
        const last = store.get().status.lastSuccessAt;
        // docs/PUSH.md §3: skip if a backup completed today or one is running.
        if (last !== null && sameUtcDay(new Date(last), clock.now())) {
          // No backup due: the trigger still serves a verification that is.
          const verification = await verifier.verifyIfDue(o?.signal);
          return verification ? { skipped: 'recent', verification } : { skipped: 'recent' };
        }
        if (await lock.isHeld()) return { skipped: 'running' };
        if (!(await isBackupEnabled())) return { skipped: 'disabled' };
        if (store.get().backupsAllowed === false) return { skipped: 'not_allowed' };
        if (await notRestoredHere()) {
          logger.warn(
            'automatic backup skipped: this device has neither restored nor made a backup, and the server holds backups of this seedphrase',
          );
          return { skipped: 'not_restored' };
        }
        const done = await backUp(o?.signal ? { signal: o.signal } : undefined);
        if (!done) return { skipped: 'running' };
        // The backup's outcome is reported before a verification runs: the OS may end
        // the app once the push's budget is spent (docs/PUSH.md §3).
        await report({ notification_id: notificationId, kind: 'backup', status: 'success' });
        await verifier.verifyIfDue(o?.signal);
        return { status: 'success', backup: done.backup };
      } catch (err) {
        const error = summarizeError(err);
        await report({
          notification_id: notificationId,
          kind: 'backup',
          status: 'failure',
          error: error.code,
        });
        return { status: 'failure', error };
      }
    },
    getStatus: () => store.get().status,
    getSnapshot: () => store.get(),
    subscribe: (listener) => store.subscribe(listener),
  };
}
