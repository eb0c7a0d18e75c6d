/**
 * What `admin import-noah` makes of one Noah user (docs/OPERATIONS.md "Moving users from
 * a Noah server"), decided before anything is read from the bucket or written here.
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import type { NoahBackup, NoahUser } from './source.ts';

/** A Noah backup and the slot it takes here. */
export interface PlannedBackup extends NoahBackup {
  slot: BackupVersion;
}

/** One user's import. */
export interface UserPlan {
  pubkey: string;
  createdAt: Date;
  /** The newest two, oldest first (the order they are completed in). */
  backups: PlannedBackup[];
  /** Older backups left behind (this server keeps two per user). */
  dropped: NoahBackup[];
  backupEnabled: boolean | null;
  pushToken: string | null;
}

/** The linking key as this server stores it: compressed secp256k1, lowercase hex. */
export const PUBKEY_RE = /^0[23][0-9a-f]{64}$/;

const newestFirst = (a: NoahBackup, b: NoahBackup): number =>
  b.createdAt.getTime() - a.createdAt.getTime() || b.version - a.version;

/**
 * Maps Noah's `backup_version` numbers onto this server's two slots, keeping the newest
 * two backups: when both kept backups already name slot 1 or 2 they keep it (a user of
 * a Noah build that used two versions finds them where it left them); otherwise (Noah's
 * app names version 1 only, but any integer is accepted there) the newest takes slot 1,
 * the one before it slot 2.
 *
 * @param user - the user's rows in Noah's database
 * @returns the plan
 * @example planUser(user).backups.map((b) => b.slot) // [2, 1] (oldest first)
 */
export function planUser(user: NoahUser): UserPlan {
  const sorted = [...user.backups].sort(newestFirst);
  const kept = sorted.slice(0, 2);
  const keepNumbers = kept.every((b) => b.version === 1 || b.version === 2);
  const backups = kept
    .map(
      (b, i): PlannedBackup => ({
        ...b,
        slot: keepNumbers ? (b.version as BackupVersion) : i === 0 ? 1 : 2,
      }),
    )
    .reverse();
  return {
    // The NOAH_COMPAT login lowercases the key the app signs with; so does the import.
    pubkey: /^0[23][0-9a-fA-F]{64}$/.test(user.pubkey) ? user.pubkey.toLowerCase() : user.pubkey,
    createdAt: user.createdAt,
    backups,
    dropped: sorted.slice(2),
    backupEnabled: user.backupEnabled,
    pushToken: user.pushToken,
  };
}
