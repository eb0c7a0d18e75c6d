/**
 * The `backup_trigger` push in React Native (docs/PUSH.md §3): find the trigger in what
 * the push library hands over, back up within the background budget, hand the rest to a
 * background task. Import as `@noah-backup/react-native/push`.
 * @module
 */
export {
  BACKUP_HANDOFF_TASK,
  BACKUP_TRIGGER_TASK,
  type BackgroundTaskModule,
  createExpoBackupTriggerHandler,
  type DefineTasksOptions,
  defineBackupTriggerTasks,
  type ExpoHandlerOptions,
  HANDOFF_BUDGET_MS,
  type NotificationsModule,
  registerBackupTriggerTask,
  type TaskManagerModule,
} from './expo.ts';
export {
  BACKGROUND_BUDGET_MS,
  type BackupTriggerHandler,
  type BackupTriggerHandlerOptions,
  createBackupTriggerHandler,
  DEFAULT_MARGIN_MS,
  PENDING_TRIGGER_KEY,
  type PushOutcome,
  type RunOptions,
} from './handler.ts';
export { findBackupTrigger } from './trigger.ts';
