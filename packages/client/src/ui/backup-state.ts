/**
 * What the screens say about this wallet's last backup, and the first backup made when
 * automatic backups are turned on. The wallet's data is backed up as of the newest of
 * two events: a backup made on this device, or a restore here (the restored backup holds
 * the very data restored). Turning backups on makes a backup at once unless that is
 * under a day old, so after the user says yes the status never reads "never backed up"
 * (the daily trigger would otherwise make the first one up to a day later).
 * @module
 */
import type { BackupManager } from '../manager.ts';
import type { BackupStatus } from '../status.ts';
import { ENABLE_BACKUPS } from './copy.ts';
import { type ProgressView, progressView } from './progress.ts';

/** A backup older than this is stale: the status card recommends a new one. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** When this wallet's data was last backed up, and whether that is a restore's backup. */
export interface LastBackup {
  /** When the backup was made (RFC 3339). */
  at: string;
  /** True when the wallet was restored from that backup after any backup made here. */
  restored: boolean;
}

/**
 * The backup this wallet's data is safe in, if any.
 *
 * @param status - the manager's status
 * @returns the time and kind, or null when the wallet has never been backed up
 */
export function lastBackup(status: BackupStatus): LastBackup | null {
  const made = status.lastSuccessAt;
  const r = status.restoredFrom;
  if (r && (made === null || Date.parse(r.restoredAt) > Date.parse(made)))
    return { at: r.backupCreatedAt, restored: true };
  return made === null ? null : { at: made, restored: false };
}

/**
 * Whether the wallet needs a backup now: never backed up, or the last is over a day old.
 *
 * @param status - the manager's status
 * @param now - the current time
 */
export function backupDue(status: BackupStatus, now: Date): boolean {
  const last = lastBackup(status);
  return last === null || now.getTime() - Date.parse(last.at) > STALE_AFTER_MS;
}

/**
 * Makes the first backup after backups were turned on, if one is due; reports progress.
 *
 * @param manager - the backup manager
 * @param now - the current time
 * @param onProgress - the progress bar's props as the backup runs
 * @param signal - cancels the backup
 * @returns true if a backup was made (false: none was due, the server takes none of this
 *   user now, or one was already running)
 * @throws what `triggerBackup` throws
 */
export async function firstBackupIfDue(
  manager: BackupManager,
  now: Date,
  onProgress: (p: ProgressView) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  // The server takes no backups of this user now (docs/OPERATIONS.md "Rollout"): the
  // screens say why; asking for an upload would only meet its 403.
  if (manager.getSnapshot().backupsAllowed === false) return false;
  if (!backupDue(manager.getStatus(), now)) return false;
  onProgress({ label: ENABLE_BACKUPS.firstBackup });
  const off = manager.subscribe((s) => {
    if (s.progress) onProgress(progressView(s.progress));
  });
  try {
    const r = await manager.triggerBackup(signal ? { signal } : {});
    return r.status === 'completed';
  } finally {
    off();
  }
}
