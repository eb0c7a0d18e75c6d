/**
 * Which of a user's two slots a new backup goes to (docs/API.md "Backups": at most two
 * completed backups per user, a new one replaces the older). Shared by the backup service
 * (the slot offered at `upload_url`) and the metadata stores (the slot a completion
 * takes when the client named none; docs/API.md "complete_upload").
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import type { BackupRow } from './stores/metadata.ts';

/**
 * The slot a new backup goes to: an empty slot (1 before 2), else the one holding the
 * older backup (on a tie, the one listed first).
 *
 * @param backups - the user's completed backups
 * @returns the slot to write
 * @example
 * ```ts
 * chooseSlot([]); // 1
 * ```
 */
export function chooseSlot(
  backups: readonly Pick<BackupRow, 'version' | 'createdAt'>[],
): BackupVersion {
  const used = new Set(backups.map((b) => b.version));
  if (!used.has(1)) return 1;
  if (!used.has(2)) return 2;
  const [a, b] = backups;
  return a!.createdAt.getTime() <= b!.createdAt.getTime() ? a!.version : b!.version;
}
