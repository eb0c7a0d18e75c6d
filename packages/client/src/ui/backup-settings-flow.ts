/**
 * The backup settings screen, apart from its rendering (the web app's and the React
 * Native example's screens draw it): the automatic-backup switch (turning it on makes
 * the first backup at once when one is due), "Back up now", the backups on the server
 * with restore and delete, each after a confirmation, and a cancel for the backup or
 * restore started here. Each card says what happened to its own action: a notice, and a
 * failure with a retry where one makes sense. A cancelled backup or restore changes
 * neither the server's backups nor the wallet.
 * @module
 */
import type { BackupInfo } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import type { BackupManager } from '../manager.ts';
import { firstBackupIfDue } from './backup-state.ts';
import { BACKUP_SETTINGS as B } from './copy.ts';
import { describeError } from './describe-error.ts';
import { backupTimes, formatSent } from './format.ts';
import { createFlowStore, type Flow } from './flow-store.ts';

/** A failure, with a retry when one makes sense. */
export interface Failure {
  error: unknown;
  retry?: () => void;
}

/** What one card says about its own last action. */
export interface CardOutcome {
  /** What happened ('' for nothing to say). */
  notice: string;
  /** What went wrong, or null. */
  failure: Failure | null;
}

/** A restore or delete waiting for the user's confirmation. */
export interface PendingAction {
  op: 'restore' | 'delete';
  backup: BackupInfo;
  /** Whether it is the newest backup on the server (restoring another needs saying so). */
  newest: boolean;
  /** The manager's doubt, once it found the backup may be older than this wallet. */
  doubt?: string;
}

/** The last "Back up now" that completed: what its full progress bar shows. */
export interface BackupDone {
  label: string;
  /** The bytes uploaded, for a full backup. */
  bytes?: number;
  /** What an incremental backup sent, in words (`formatSent`). */
  sent?: string;
}

/** What the screen shows. */
export interface BackupSettingsState {
  /** The backups on the server, newest first; null until listed. */
  backups: BackupInfo[] | null;
  /** Why the list failed, or null. */
  listError: unknown;
  /** The automatic-backup card. */
  auto: CardOutcome;
  /** The "Back up now" card. */
  now: CardOutcome;
  /** The backups card (restore, delete). */
  history: CardOutcome;
  done: BackupDone | null;
  /** The last restore started here completed. */
  restored: boolean;
  pending: PendingAction | null;
  /** A backup or restore started here runs: `cancel()` stops it. */
  cancellable: boolean;
}

/** The screen's state and actions. */
export interface BackupSettingsFlow extends Flow<BackupSettingsState> {
  /** Lists the backups on the server again. */
  refresh(): Promise<void>;
  /** The switch: on makes the first backup when one is due. */
  toggle(enabled: boolean): Promise<void>;
  backUpNow(): Promise<void>;
  /** Asks to confirm a restore or delete of `backup` (`newest`: the list's first). */
  ask(op: PendingAction['op'], backup: BackupInfo, newest: boolean): void;
  /** Drops the question. */
  dismiss(): void;
  /** Does what the question asked; asks again, saying why, when the manager doubts. */
  confirm(): Promise<void>;
  /** Stops the backup or restore started here. */
  cancel(): void;
  /** A backup's time as the list shows it (seconds when two share a minute). */
  when(createdAt: string): string;
}

const NONE: CardOutcome = { notice: '', failure: null };
const cancelled = (err: unknown) => err instanceof NoahError && err.code === 'aborted';

/**
 * The settings screen's flow on `manager`. Nothing is loaded until `refresh()`.
 *
 * @param manager - the backup manager
 * @param clock - the app's clock (the first backup is due by its time)
 * @returns the flow
 * @example
 * ```ts
 * const settings = backupSettingsFlow(manager, systemClock);
 * await settings.refresh();
 * await settings.backUpNow();
 * settings.getState().done; // { label: 'Backup complete', … }
 * ```
 */
export function backupSettingsFlow(manager: BackupManager, clock: Clock): BackupSettingsFlow {
  const store = createFlowStore<BackupSettingsState>({
    backups: null,
    listError: null,
    auto: NONE,
    now: NONE,
    history: NONE,
    done: null,
    restored: false,
    pending: null,
    cancellable: false,
  });
  const { set, getState } = store;
  let running: AbortController | null = null;

  const cancellable = async <T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    running = controller;
    set({ cancellable: true });
    try {
      return await run(controller.signal);
    } finally {
      if (running === controller) {
        running = null;
        set({ cancellable: false });
      }
    }
  };
  const when = (createdAt: string) =>
    backupTimes((getState().backups ?? []).map((b) => b.created_at))(createdAt);

  const flow: BackupSettingsFlow = {
    getState,
    subscribe: store.subscribe,
    when,
    async refresh() {
      set({ listError: null });
      try {
        set({ backups: await manager.listBackups() });
      } catch (err) {
        set({ listError: err });
      }
    },
    async toggle(enabled) {
      set({ auto: NONE });
      let on = false;
      try {
        await manager.setBackupEnabled(enabled);
        on = enabled;
        if (!enabled) {
          set({ auto: { notice: B.off, failure: null } });
          return;
        }
        set({ done: null, now: NONE });
        const made = await cancellable((signal) =>
          firstBackupIfDue(manager, clock.now(), () => undefined, signal),
        );
        set({ auto: { notice: made ? B.onFirstMade : B.on, failure: null } });
      } catch (err) {
        set({
          auto: {
            notice: on ? B.onFirstFailed : '',
            failure: { error: err, retry: () => void flow.toggle(enabled) },
          },
        });
      }
      await flow.refresh();
    },
    async backUpNow() {
      set({ now: NONE, done: null });
      try {
        const r = await cancellable((signal) => manager.triggerBackup({ signal }));
        if (r.status === 'completed')
          set({
            done: {
              label: B.complete,
              ...(r.incremental ? { sent: formatSent(r.incremental) } : { bytes: r.bytes }),
            },
          });
        else set({ now: { notice: B.alreadyRunning, failure: null } });
      } catch (err) {
        set({
          now: cancelled(err)
            ? { notice: B.backupCancelled, failure: null }
            : { notice: '', failure: { error: err, retry: () => void flow.backUpNow() } },
        });
      }
      await flow.refresh();
    },
    ask(op, backup, newest) {
      set({ pending: { op, backup, newest } });
    },
    dismiss() {
      set({ pending: null });
    },
    async confirm() {
      const p = getState().pending;
      set({ pending: null });
      if (!p) return;
      set({ history: NONE, restored: false });
      const at = when(p.backup.created_at);
      try {
        if (p.op === 'restore') {
          // Confirmed for an older backup, or after the manager's doubt that the newest
          // is not older than this wallet (docs/FORMAT.md §6.6).
          await cancellable((signal) =>
            manager.restoreBackup(p.backup.backup_version, {
              confirmRollback: !p.newest || p.doubt !== undefined,
              signal,
            }),
          );
          set({ restored: true, history: { notice: B.restored(at), failure: null } });
        } else {
          await manager.deleteBackup(p.backup.backup_version);
          set({ history: { notice: B.deleted(at), failure: null } });
        }
      } catch (err) {
        if (
          err instanceof NoahError &&
          err.code === 'rollback_confirmation_required' &&
          p.doubt === undefined
        ) {
          // Nothing was changed: ask again, saying why.
          const { title, next } = describeError(err);
          set({ pending: { ...p, doubt: `${title} ${next}` } });
          return;
        }
        set({
          history: cancelled(err)
            ? { notice: B.restoreCancelled, failure: null }
            : { notice: '', failure: { error: err } },
        });
      }
      await flow.refresh();
    },
    cancel() {
      running?.abort();
    },
  };
  return flow;
}
