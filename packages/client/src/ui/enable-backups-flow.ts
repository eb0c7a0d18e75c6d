/**
 * The onboarding step that turns on automatic backups, apart from its rendering (the web
 * app's `EnableBackupsStep` and the React Native example's draw it): saying yes turns
 * them on and makes the first backup at once when one is due, with its progress; a
 * failure of that backup leaves them on, says so (`ENABLE_BACKUPS.onButFailed`), and the
 * next `run` only retries the backup. "Not now" turns them off: the server's default for
 * a new account is on, and "not now" means no.
 * @module
 */
import type { BackupManager } from '../manager.ts';
import { firstBackupIfDue } from './backup-state.ts';
import { createFlowStore, type Flow } from './flow-store.ts';
import type { ProgressView } from './progress.ts';

/** What the step does, supplied by the app. */
export interface EnableBackupsActions {
  /** Turns automatic backups on (on the server). */
  turnOn(): Promise<void>;
  /** Turns them off. */
  turnOff(): Promise<void>;
  /** Makes the first backup when one is due (none, or over a day old); reports progress. */
  firstBackup(onProgress: (p: ProgressView) => void): Promise<unknown>;
  /** Leaves the step (backups on, or not). */
  done(): void;
}

/** What the step shows. */
export interface EnableBackupsState {
  /** An action runs: the buttons are disabled. */
  busy: boolean;
  /** Backups were turned on here: the buttons are "Continue" and "Try again". */
  on: boolean;
  /** The first backup's progress while it runs, else null. */
  progress: ProgressView | null;
  /** The last action's failure, or null. */
  error: unknown;
}

/** The step's state and its two answers. */
export interface EnableBackupsFlow extends Flow<EnableBackupsState> {
  /** "Not now": turns backups off and leaves the step; a failure stays on the step. */
  notNow(): Promise<void>;
  /** "Turn on" (or "Try again"): turns them on once, makes the first backup, leaves. */
  run(): Promise<void>;
}

/**
 * The onboarding step's flow.
 *
 * @param actions - what turning on, off and the first backup do
 * @returns the flow (state starts idle, off, no error)
 * @example
 * ```ts
 * const step = enableBackupsFlow(enableBackupsActions(manager, clock, leave));
 * await step.run(); // on, first backup made when due, then leave()
 * ```
 */
export function enableBackupsFlow(actions: EnableBackupsActions): EnableBackupsFlow {
  const store = createFlowStore<EnableBackupsState>({
    busy: false,
    on: false,
    progress: null,
    error: null,
  });
  return {
    getState: store.getState,
    subscribe: store.subscribe,
    async notNow() {
      store.set({ busy: true, error: null });
      try {
        await actions.turnOff();
        actions.done();
      } catch (err) {
        store.set({ error: err, busy: false });
      }
    },
    async run() {
      store.set({ busy: true, error: null });
      try {
        if (!store.getState().on) {
          await actions.turnOn();
          store.set({ on: true });
        }
        await actions.firstBackup((progress) => store.set({ progress }));
        actions.done();
      } catch (err) {
        store.set({ error: err, progress: null, busy: false });
      }
    },
  };
}

/**
 * The step's actions on a BackupManager: the setting on the server, and
 * `firstBackupIfDue` at the clock's time.
 *
 * @param manager - the backup manager
 * @param now - the current time
 * @param done - leaves the step
 */
export function enableBackupsActions(
  manager: BackupManager,
  now: () => Date,
  done: () => void,
): EnableBackupsActions {
  return {
    turnOn: () => manager.setBackupEnabled(true),
    turnOff: () => manager.setBackupEnabled(false),
    firstBackup: (onProgress) => firstBackupIfDue(manager, now(), onProgress),
    done,
  };
}
