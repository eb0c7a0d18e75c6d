/**
 * React binding of the BackupManager: the `useBackupManager`
 * hook, with the manager's status, activity and progress live through
 * `useSyncExternalStore` (one immutable snapshot per change, so React re-renders only
 * on real changes and never tears). Import as `@noah-backup/client/react`.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { BackupManager } from './manager.ts';
import type {
  Activity,
  BackupStatus,
  LastVerification,
  ManagerSnapshot,
  ProgressEvent,
} from './status.ts';
import { type BackupSettingsFlow, backupSettingsFlow } from './ui/backup-settings-flow.ts';
import {
  type EnableBackupsActions,
  type EnableBackupsFlow,
  enableBackupsFlow,
} from './ui/enable-backups-flow.ts';
import type { Flow } from './ui/flow-store.ts';

/** What the hook returns: the manager's settings and actions plus live state. */
export interface UseBackupManager {
  /** The server's `backup_enabled` as last seen; null until known (loaded on mount). */
  isBackupEnabled: boolean | null;
  /**
   * Whether the server takes new backups of this user (its rollout switch); null until
   * known (loaded on mount). When false, backing up meets `backups_not_enabled`: say why.
   */
  backupsAllowed: boolean | null;
  /** Why backups are not allowed (`rollout_paused`, `rollout_pending`), or null. */
  backupsNotAllowedReason: ManagerSnapshot['backupsNotAllowedReason'];
  setBackupEnabled: BackupManager['setBackupEnabled'];
  triggerBackup: BackupManager['triggerBackup'];
  listBackups: BackupManager['listBackups'];
  restoreBackup: BackupManager['restoreBackup'];
  deleteBackup: BackupManager['deleteBackup'];
  verifyBackup: BackupManager['verifyBackup'];
  /** Re-reads `backup_enabled` from the server. */
  refreshBackupEnabled: BackupManager['isBackupEnabled'];
  /** Backup status: state, last success, last attempt, last error. */
  status: BackupStatus;
  /**
   * The last verification that reached an outcome on this device (when, success or
   * failure, the slot and its backup's time), or null before any (docs/API.md
   * "Verification").
   */
  lastVerification: LastVerification | null;
  /** The running operation, or null. */
  activity: Activity | null;
  /** Progress of the running operation, or null. */
  progress: ProgressEvent | null;
}

/**
 * Subscribes a component to a BackupManager.
 *
 * @param manager - from `createBackupManager` (keep it stable, e.g. in a context)
 * @returns the manager's operations and its live status and progress
 * @example
 * ```tsx
 * function BackupCard() {
 *   const { status, progress, triggerBackup } = useBackupManager(manager);
 *   return <button disabled={status.state === 'in_progress'} onClick={() => triggerBackup()}>
 *     {progress ? `${progress.phase} ${progress.bytes}` : `Last backup: ${status.lastSuccessAt ?? 'never'}`}
 *   </button>;
 * }
 * ```
 */
export function useBackupManager(manager: BackupManager): UseBackupManager {
  const snapshot = useSyncExternalStore(
    manager.subscribe,
    manager.getSnapshot,
    manager.getSnapshot,
  );
  // The rollout fields are never cached on the device: a cached `backupEnabled` alone
  // still asks the server once.
  const known = snapshot.backupEnabled !== null && snapshot.backupsAllowed !== null;
  useEffect(() => {
    // The hook loads the settings on mount; failures leave them null (unknown).
    if (!known) manager.isBackupEnabled().catch(() => {});
  }, [manager, known]);
  return useMemo(
    () => ({
      isBackupEnabled: snapshot.backupEnabled,
      backupsAllowed: snapshot.backupsAllowed,
      backupsNotAllowedReason: snapshot.backupsNotAllowedReason,
      setBackupEnabled: manager.setBackupEnabled,
      triggerBackup: manager.triggerBackup,
      listBackups: manager.listBackups,
      restoreBackup: manager.restoreBackup,
      deleteBackup: manager.deleteBackup,
      verifyBackup: manager.verifyBackup,
      refreshBackupEnabled: manager.isBackupEnabled,
      status: snapshot.status,
      lastVerification: snapshot.status.lastVerification ?? null,
      activity: snapshot.activity,
      progress: snapshot.progress,
    }),
    [manager, snapshot],
  );
}

/**
 * Subscribes a component to a screen's flow (`ui/backup-settings-flow.ts`,
 * `ui/enable-backups-flow.ts`): re-renders on each change of its state.
 *
 * @param flow - the flow (keep it stable)
 * @returns its current state
 */
export function useFlow<S>(flow: Flow<S>): S {
  return useSyncExternalStore(flow.subscribe, flow.getState, flow.getState);
}

/**
 * The backup settings screen's flow on `manager`, with its state; lists the backups on
 * mount.
 *
 * @param manager - the backup manager (keep it stable)
 * @param clock - the app's clock (keep it stable)
 * @returns the flow's actions and its current state
 */
export function useBackupSettingsFlow(
  manager: BackupManager,
  clock: Clock,
): [BackupSettingsFlow, ReturnType<BackupSettingsFlow['getState']>] {
  const flow = useMemo(() => backupSettingsFlow(manager, clock), [manager, clock]);
  useEffect(() => {
    void flow.refresh();
  }, [flow]);
  return [flow, useFlow(flow)];
}

/**
 * The onboarding step's flow, with its state. The flow lives as long as the component;
 * it calls the latest `actions` given.
 *
 * @param actions - what turning on, off and the first backup do
 * @returns the flow's answers and its current state
 */
export function useEnableBackupsFlow(
  actions: EnableBackupsActions,
): [EnableBackupsFlow, ReturnType<EnableBackupsFlow['getState']>] {
  const latest = useRef(actions);
  latest.current = actions;
  const [flow] = useState(() =>
    enableBackupsFlow({
      turnOn: () => latest.current.turnOn(),
      turnOff: () => latest.current.turnOff(),
      firstBackup: (onProgress) => latest.current.firstBackup(onProgress),
      done: () => latest.current.done(),
    }),
  );
  return [flow, useFlow(flow)];
}
