/**
 * The `backup_trigger` push in an Expo app (docs/PUSH.md §3.1): two tasks of
 * expo-task-manager, defined at module scope so that they exist when the OS starts the
 * app without its UI (a data message on Android, a background notification on iOS):
 *
 * - {@link BACKUP_TRIGGER_TASK}, registered with expo-notifications' `registerTaskAsync`:
 *   runs for each push, within the platform's budget (`./handler.ts`);
 * - {@link BACKUP_HANDOFF_TASK}, an expo-background-task task registered only while a
 *   trigger is handed off: the system runs it when it sees fit (WorkManager on Android,
 *   BGTaskScheduler on iOS, at least 15 minutes apart) and it finishes the backup.
 *
 * The modules are parameters (`import * as Notifications from 'expo-notifications'`…):
 * the SDK does not depend on Expo, and the tests give stand-ins for the native parts.
 * Each interface below is the subset of the installed modules' published types (SDK 57:
 * notifications, task-manager, background-task) that this file uses (docs/PUSH.md §3.1).
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import type { Logger } from '@noah-backup/client/logger';
import type { DeviceStateStore } from '@noah-backup/client/ports';
import {
  BACKGROUND_BUDGET_MS,
  type BackupTriggerHandler,
  createBackupTriggerHandler,
  type PushOutcome,
} from './handler.ts';

/** The push task's name. */
export const BACKUP_TRIGGER_TASK = 'noah-backup-trigger';
/** The background task that finishes a handed-off backup. */
export const BACKUP_HANDOFF_TASK = 'noah-backup-handoff';
/**
 * What the hand-off task allows itself: Android's WorkManager stops a worker after 10
 * minutes; iOS calls the expiration listener earlier if it must.
 */
export const HANDOFF_BUDGET_MS = 9 * 60_000;

/** expo-task-manager: `defineTask(name, executor)`; the executor gets `{ data, error, executionInfo }`. */
export interface TaskManagerModule {
  defineTask(
    taskName: string,
    executor: (body: { data: unknown; error: { message: string } | null }) => Promise<unknown>,
  ): void;
}

/** expo-notifications: the push task's registration and its iOS fetch results. */
export interface NotificationsModule {
  registerTaskAsync(taskName: string): Promise<unknown>;
  BackgroundNotificationTaskResult: { NewData: number; NoData: number; Failed: number };
}

/** expo-background-task. `addExpirationListener` exists on iOS only. */
export interface BackgroundTaskModule {
  registerTaskAsync(taskName: string, options?: { minimumInterval?: number }): Promise<void>;
  unregisterTaskAsync(taskName: string): Promise<void>;
  addExpirationListener?(listener: () => void): { remove(): void };
  BackgroundTaskResult: { Success: number; Failed: number };
}

/** Options of {@link createExpoBackupTriggerHandler}. */
export interface ExpoHandlerOptions {
  manager: BackupManager;
  state: DeviceStateStore;
  /** `Platform.OS`: picks the budget (30 s iOS, 10 s Android). */
  platform: string;
  BackgroundTask: BackgroundTaskModule;
  /** `() => AppState.currentState === 'active'`: no budget in the foreground. */
  isForeground?(): boolean;
  /** Minutes between runs of the hand-off task at least (default 15, the minimum). */
  minimumInterval?: number;
  logger?: Logger;
}

/**
 * The handler of an Expo app: the platform's budget, and hand-offs to
 * {@link BACKUP_HANDOFF_TASK}.
 *
 * @param o - manager, state store, platform, expo-background-task
 * @returns the handler for {@link defineBackupTriggerTasks}
 */
export function createExpoBackupTriggerHandler(o: ExpoHandlerOptions): BackupTriggerHandler {
  return createBackupTriggerHandler({
    manager: o.manager,
    state: o.state,
    budgetMs: o.platform === 'ios' ? BACKGROUND_BUDGET_MS.ios : BACKGROUND_BUDGET_MS.android,
    handOff: () =>
      o.BackgroundTask.registerTaskAsync(BACKUP_HANDOFF_TASK, {
        minimumInterval: o.minimumInterval ?? 15,
      }),
    handOffDone: () => o.BackgroundTask.unregisterTaskAsync(BACKUP_HANDOFF_TASK),
    ...(o.isForeground ? { isForeground: o.isForeground } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}

/** Options of {@link defineBackupTriggerTasks}. */
export interface DefineTasksOptions {
  TaskManager: TaskManagerModule;
  Notifications: NotificationsModule;
  BackgroundTask: BackgroundTaskModule;
  /**
   * The app's handler, opened when a task runs (the app may have been started for it,
   * without its UI): read the seedphrase from secure storage, open the manager. Null when
   * this device has no wallet (nothing to back up).
   */
  handler(): Promise<BackupTriggerHandler | null>;
  /** Called with each push's outcome (the manager has already reported it to the server). */
  onOutcome?(outcome: PushOutcome | { skipped: 'no_wallet' | 'nothing_pending' }): void;
  logger?: Logger;
}

/**
 * Defines both tasks. Call at module scope of the app's entry file, before
 * `registerRootComponent`; then {@link registerBackupTriggerTask} once.
 *
 * @param o - the three Expo modules and the app's handler
 * @example
 * ```ts
 * defineBackupTriggerTasks({ TaskManager, Notifications, BackgroundTask, handler: openHandler });
 * void registerBackupTriggerTask(Notifications);
 * ```
 */
export function defineBackupTriggerTasks(o: DefineTasksOptions): void {
  const Result = o.Notifications.BackgroundNotificationTaskResult;
  const TaskResult = o.BackgroundTask.BackgroundTaskResult;
  const open = async () => {
    try {
      return await o.handler();
    } catch (err) {
      // iOS keeps the keychain locked until the first unlock after a restart: the next
      // push or the hand-off task tries again.
      o.logger?.warn('could not open the backup for a push', { error: (err as Error)?.name });
      return undefined;
    }
  };
  o.TaskManager.defineTask(BACKUP_TRIGGER_TASK, async ({ data, error }) => {
    if (error) return Result.Failed;
    const handler = await open();
    if (handler === undefined) return Result.Failed;
    if (handler === null) {
      o.onOutcome?.({ skipped: 'no_wallet' });
      return Result.NoData;
    }
    const outcome = await handler.handle(data);
    o.onOutcome?.(outcome);
    if ('status' in outcome)
      return outcome.status === 'success'
        ? Result.NewData
        : outcome.status === 'failure'
          ? Result.Failed
          : Result.NoData;
    return Result.NoData;
  });
  o.TaskManager.defineTask(BACKUP_HANDOFF_TASK, async () => {
    const handler = await open();
    if (handler === undefined) return TaskResult.Failed;
    if (handler === null) {
      // No wallet any more: nothing will ever be pending.
      await o.BackgroundTask.unregisterTaskAsync(BACKUP_HANDOFF_TASK).catch(() => {});
      o.onOutcome?.({ skipped: 'no_wallet' });
      return TaskResult.Success;
    }
    const controller = new AbortController();
    const sub = o.BackgroundTask.addExpirationListener?.(() => controller.abort());
    try {
      const outcome = await handler.runPending({
        budgetMs: HANDOFF_BUDGET_MS,
        signal: controller.signal,
      });
      o.onOutcome?.(outcome);
      if ('skipped' in outcome && outcome.skipped === 'nothing_pending')
        await o.BackgroundTask.unregisterTaskAsync(BACKUP_HANDOFF_TASK).catch(() => {});
      return 'status' in outcome && outcome.status !== 'success'
        ? TaskResult.Failed
        : TaskResult.Success;
    } finally {
      sub?.remove();
    }
  });
}

/**
 * Registers the push task with expo-notifications (on every app start: it is idempotent).
 *
 * @param Notifications - `import * as Notifications from 'expo-notifications'`
 */
export async function registerBackupTriggerTask(Notifications: NotificationsModule): Promise<void> {
  await Notifications.registerTaskAsync(BACKUP_TRIGGER_TASK);
}
