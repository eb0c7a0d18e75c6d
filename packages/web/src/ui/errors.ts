/**
 * Turns any error the SDK, the core or the adapters throw into a human sentence with
 * a next step. Keyed on the stable `code` of NoahError subclasses;
 * never shows a raw message that could hold a URL or a secret.
 * @module
 */

/** What the screens show for an error. */
export interface HumanError {
  /** One sentence: what happened. */
  title: string;
  /** What the user can do next. */
  next: string;
  /** The stable error code, shown small for support. */
  code: string;
}

/** Thrown by the app when a seedphrase has no backups on this server. */
export class NoBackupsError extends Error {
  readonly code = 'no_backups';
  constructor() {
    super('no backups for this seedphrase');
  }
}

const MESSAGES: Record<string, Omit<HumanError, 'code'>> = {
  invalid_mnemonic: {
    title: 'That is not a valid seedphrase.',
    next: 'Check each word and their order: a seedphrase has 12 or 24 words from the BIP39 list.',
  },
  no_backups: {
    title: 'We found no backups for this seedphrase.',
    next: 'Check the words and their order, or create a new wallet instead.',
  },
  decryption_failed: {
    title: 'This backup could not be opened with this seedphrase, or it is corrupted.',
    next: 'Check the seedphrase, or restore the other backup in the list.',
  },
  not_a_backup: {
    title: 'The stored file is not a Noah backup.',
    next: 'Restore the other backup in the list, or make a new backup.',
  },
  unsupported_payload_kind: {
    title: 'This backup was made by a newer version of the app.',
    next: 'Update the app, then try again.',
  },
  malformed_manifest: {
    title: 'This backup is corrupted: its list of contents is damaged.',
    next: 'Restore the other backup in the list, or make a new backup.',
  },
  unsupported_version: {
    title: 'This backup was made by a newer version of the app.',
    next: 'Update the app, then try again.',
  },
  unsupported_compression: {
    title: 'This backup is compressed in a way this app cannot read.',
    next: 'Update the app, or restore the other backup in the list.',
  },
  foreign_wallet: {
    title: 'This backup was made by another kind of wallet.',
    next: 'It is intact, but this app cannot use what it holds. Restore it with the app or the noah-backup command line that made it. Nothing on this device changed.',
  },
  unsafe_archive: {
    title:
      'This backup is damaged, or holds entries this app refuses to unpack, such as links or paths outside the wallet.',
    next: 'Nothing on this device changed. Restore the other backup in the list, or make a new backup.',
  },
  integrity_check_failed: {
    title: 'This backup is corrupted: its wallet database is damaged.',
    next: 'Restore the other backup in the list, or make a new backup.',
  },
  integrity_error: {
    title: 'The stored backup does not match what the server recorded.',
    next: 'Restore the other backup in the list, or make a new backup.',
  },
  limit_exceeded: {
    title: 'This backup is larger than this app accepts.',
    next: 'Restore the other backup in the list.',
  },
  network_error: {
    title: 'We could not reach the backup server.',
    next: 'Check your internet connection, then try again.',
  },
  timeout: {
    title: 'The backup server took too long to answer.',
    next: 'Check your internet connection, then try again.',
  },
  stalled: {
    title: 'The transfer stopped moving.',
    next: 'Check your internet connection, then try again.',
  },
  incomplete_transfer: {
    title: 'The transfer was cut off before it finished.',
    next: 'Check your internet connection, then try again.',
  },
  rate_limited: {
    title: 'Too many attempts in a short time.',
    next: 'Wait a minute, then try again.',
  },
  backup_too_large: {
    title: 'This wallet is too large for the backup server.',
    next: 'Contact the server operator to raise the size limit.',
  },
  quota_exceeded: {
    title: 'Your backup storage is full.',
    next: 'Delete an old backup, then try again.',
  },
  backups_not_enabled: {
    title: 'Backups are not available for this account yet.',
    next: 'The server is turning backups on gradually. Try again later.',
  },
  backup_not_found: {
    title: 'That backup no longer exists on the server.',
    next: 'Refresh the list and choose another backup.',
  },
  storage_unavailable: {
    title: 'The backup server cannot reach its storage right now.',
    next: 'Try again in a few minutes.',
  },
  backup_in_progress: {
    title: 'A backup is already running.',
    next: 'Wait for it to finish.',
  },
  aborted: {
    title: 'The operation was cancelled.',
    next: 'Start it again when you are ready.',
  },
  not_a_wallet: {
    title: 'There is no wallet on this device to back up.',
    next: 'Create or restore a wallet first. Your backups on the server are unchanged.',
  },
  corrupt_wallet_database: {
    title: 'The wallet database on this device is damaged, so it was not backed up.',
    next: 'Your backups on the server are unchanged. Restore one of them to repair this wallet.',
  },
  rollback_confirmation_required: {
    title: 'This backup may be older than the newest one this device has seen.',
    next: 'Restore it only if you are sure: payments made since may be gone from this device.',
  },
};

const SERVER_TROUBLE = {
  title: 'The backup server had a problem.',
  next: 'Try again in a few minutes. If it keeps happening, tell the server operator.',
};

/**
 * Describes an error for the user.
 *
 * @param err - anything thrown
 * @returns title, next step and code
 * @example
 * ```ts
 * const { title, next } = describeError(new InvalidMnemonicError());
 * ```
 */
export function describeError(err: unknown): HumanError {
  const e = (err ?? {}) as { code?: unknown; status?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  const known = MESSAGES[code];
  if (known) return { ...known, code };
  if (typeof e.status === 'number' && e.status >= 500) return { ...SERVER_TROUBLE, code };
  // fetch() rejects with a TypeError when the network is down or the host is unknown.
  if (err instanceof TypeError && /fetch|network/i.test(String(err.message)))
    return { ...(MESSAGES.network_error as Omit<HumanError, 'code'>), code: 'network_error' };
  return {
    title: 'Something went wrong.',
    next: 'Try again. If it keeps happening, reload the page.',
    code,
  };
}
