/**
 * The refusals of the wallet data port (`ports.ts`), one constructor per failure, so
 * every platform's adapter says the same thing with the same code (docs/WALLET.md §1):
 * no wallet to back up, a damaged wallet database at backup time, a database in a backup
 * that fails its check. Databases are named by their relative path only, never by
 * content.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';

/** The first 16 bytes of every SQLite database file ("SQLite format 3\0"). */
export const SQLITE_HEADER = new TextEncoder().encode('SQLite format 3\u0000');

/** True when `bytes` start with the SQLite header. */
export function hasSqliteHeader(bytes: Uint8Array): boolean {
  return bytes.length >= SQLITE_HEADER.length && SQLITE_HEADER.every((b, i) => bytes[i] === b);
}

const KEPT = 'nothing was backed up, and the backups already on the server are kept';

/**
 * `not_a_wallet`: the data holds no wallet (nothing, or no database).
 * @param what - what was found, e.g. "/data/wallet is empty: there is no wallet to back up"
 */
export function notAWallet(what: string): NoahError {
  return new NoahError('not_a_wallet', `${what}; ${KEPT}`);
}

/**
 * `corrupt_wallet_database`: a database of the wallet being backed up is damaged.
 * @param label - the database's relative path
 * @param why - e.g. "it fails PRAGMA integrity_check"
 */
export function corruptWalletDatabase(label: string, why: string, cause?: unknown): NoahError {
  return new NoahError(
    'corrupt_wallet_database',
    `the wallet database ${label} is damaged (${why}): it was not backed up, and the backups already on the server are kept`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * `wallet_database_missing`: databases the last backup held are gone from the wallet.
 * @param gone - their relative paths
 * @param present - the databases the wallet holds now
 */
export function walletDatabaseMissing(
  gone: readonly string[],
  present: readonly string[],
): NoahError {
  const [first, ...more] = gone;
  const also = more.length > 0 ? ` (and ${more.length} more)` : '';
  return new NoahError(
    'wallet_database_missing',
    `the wallet database ${first}${also}, held by this device's last backup, is gone (deleted or renamed), while the wallet holds ${present.join(', ')}; ${KEPT}`,
  );
}

/**
 * `empty_backup`: a backup whose archive holds no database, so no wallet (made by an old
 * client or another tool): never reported intact, restored only when confirmed.
 * @param entries - the files it holds
 */
export function emptyBackup(entries: number): NoahError {
  const what = entries === 0 ? 'nothing' : `${entries} file${entries === 1 ? '' : 's'}`;
  return new NoahError(
    'empty_backup',
    `the backup holds no wallet database (${what} in it), so it holds no wallet; nothing was changed`,
  );
}

/**
 * `integrity_check_failed`: a database in a backup being restored or verified fails its
 * check (or a file that should be a database is not one).
 * @param label - the database's relative path in the archive
 * @param why - what failed, if more than the check itself
 */
export function integrityCheckFailed(label: string, why?: string, cause?: unknown): NoahError {
  return new NoahError(
    'integrity_check_failed',
    why === undefined
      ? `database ${label} failed PRAGMA integrity_check`
      : `database ${label} failed the check: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}
