/**
 * What the apps say for each code of the error catalog (core `error-catalog.ts`,
 * docs/API.md "Client error codes"): one sentence of what happened and the next step. A
 * total map: a code without a message does not compile. Codes only the Node adapters or
 * the command line throw get a message too, for an app that embeds them. The web app and
 * the React Native example share this wording (`@noah-backup/client/ui/messages`).
 * @module
 */
import type { BackupsNotAllowedReason } from '@noah-backup/core/api';
import type { CatalogCode } from '@noah-backup/core/error-catalog';

/** A message: what happened, and what the user can do next. */
export interface Message {
  title: string;
  next: string;
}

/** When the failure is ours and no better sentence exists (a bug). */
export const GENERIC: Message = {
  title: 'Something went wrong.',
  next: 'Try again. If it keeps happening, reload the page.',
};

/** The server answered with an error status (5xx). */
export const SERVER_TROUBLE: Message = {
  title: 'The backup server had a problem.',
  next: 'Try again in a few minutes. If it keeps happening, tell the server operator.',
};

/**
 * Why the server takes no new backups of this user (the settings' rollout fields,
 * docs/API.md "settings"): said before a backup is tried, instead of its 403.
 */
export const BACKUPS_NOT_ALLOWED: Readonly<Record<BackupsNotAllowedReason, Message>> = {
  rollout_pending: {
    title: 'Backups are not available for your wallet yet — the service is rolling them out.',
    next: 'Your wallet is safe on this device. Backups start here once the rollout reaches you.',
  },
  rollout_paused: {
    title: 'Backups are paused by the service for now.',
    next: 'Your wallet is safe on this device, and your backups on the server are kept.',
  },
};

/** The sentence for a refusal; an unknown reason (a newer server) reads as pending. */
export function backupsNotAllowed(reason: BackupsNotAllowedReason | null): Message {
  return BACKUPS_NOT_ALLOWED[reason ?? 'rollout_pending'] ?? BACKUPS_NOT_ALLOWED.rollout_pending;
}

/**
 * What the status card and the backup list say of a backup's last verification
 * (docs/API.md "Verification"), given "3 days ago" and how often the device verifies.
 */
export const VERIFICATION = {
  verified: (ago: string): string => `Verified ${ago}: the backup decrypts and restores.`,
  failed: (ago: string): Message => ({
    title: `Verification failed ${ago}: the backup would not restore.`,
    next: 'Make a new backup now. If it keeps happening, tell the server operator.',
  }),
  overdue: (ago: string, period: string): Message => ({
    title: `Last verified ${ago}: longer ago than ${period}.`,
    next: 'Back up now: the app then checks the newest backup.',
  }),
};

const SIGN_IN: Message = {
  title: 'The backup server did not accept this device’s sign-in.',
  next: 'Try again. If it keeps happening, reload the page and check the seedphrase.',
};
const EXCHANGE: Message = {
  title: 'A transfer with the backup server failed.',
  next: 'Try again. If it keeps happening, reload the page.',
};
const NEWER: Message = {
  title: 'This backup was made by a newer version of the app.',
  next: 'Update the app, then try again.',
};
const OTHER_BACKUP = 'Restore the other backup in the list, or make a new backup.';
const OFFLINE = 'Check your internet connection, then try again.';

/** The message of every catalog code. */
export const MESSAGES: Readonly<Record<CatalogCode, Message>> = {
  // the server's API
  bad_request: EXCHANGE,
  unauthorized: SIGN_IN,
  token_expired: SIGN_IN,
  invalid_k1: SIGN_IN,
  invalid_key: SIGN_IN,
  invalid_signature: SIGN_IN,
  forbidden: SIGN_IN,
  base_changed: {
    title: 'Another device backed up this wallet at the same time.',
    next: 'Nothing was lost and your backups are safe. Try again: the next backup sends the whole wallet once.',
  },
  backups_not_enabled: {
    title: 'Backups are not available for this account yet.',
    next: 'The server is turning backups on gradually. Try again later.',
  },
  push_endpoint_not_allowed: {
    title: 'This push address cannot be used for backup reminders.',
    next: 'Choose a push distributor reachable on the internet, then try again.',
  },
  not_found: {
    title: 'This page could not find the backup service on its server.',
    next: 'Reload the page. If it keeps happening, tell the server operator.',
  },
  backup_not_found: {
    title: 'That backup no longer exists on the server.',
    next: 'Refresh the list and choose another backup.',
  },
  upload_not_found: EXCHANGE,
  upload_incomplete: EXCHANGE,
  size_mismatch: EXCHANGE,
  checksum_mismatch: EXCHANGE,
  conflict: EXCHANGE,
  backup_too_large: {
    title: 'This wallet is too large for the backup server.',
    next: 'Contact the server operator to raise the size limit.',
  },
  quota_exceeded: {
    title: 'Too many backups of this account are being uploaded at once.',
    next: 'Wait a few minutes, then try again.',
  },
  payload_too_large: EXCHANGE,
  unsupported_media_type: EXCHANGE,
  range_not_satisfiable: EXCHANGE,
  method_not_allowed: EXCHANGE,
  signature_invalid: EXCHANGE,
  url_expired: EXCHANGE,
  rate_limited: {
    title: 'Too many attempts in a short time.',
    next: 'Wait a minute, then try again.',
  },
  storage_unavailable: {
    title: 'The backup server cannot reach its storage right now.',
    next: 'Try again in a few minutes.',
  },
  storage_full: {
    title: 'The backup server is out of storage space. Your existing backups are safe.',
    next: 'Try again later. If it keeps happening, tell the server operator.',
  },
  not_ready: SERVER_TROUBLE,
  internal: SERVER_TROUBLE,
  // core
  not_a_backup: { title: 'The stored file is not a Noah backup.', next: OTHER_BACKUP },
  unsupported_version: NEWER,
  unsupported_payload_kind: NEWER,
  malformed_manifest: {
    title: 'This backup is corrupted: its list of contents is damaged.',
    next: OTHER_BACKUP,
  },
  limit_exceeded: {
    title: 'This backup is larger than this app accepts.',
    next: 'Restore the other backup in the list.',
  },
  decryption_failed: {
    title: 'This backup could not be opened with this seedphrase, or it is corrupted.',
    next: 'Check the seedphrase, or restore the other backup in the list.',
  },
  invalid_mnemonic: {
    title: 'That is not a valid seedphrase.',
    next: 'Check each word and their order: a seedphrase has 12 or 24 words from the BIP39 list.',
  },
  unsupported_compression: {
    title: 'This backup is compressed in a way this app cannot read.',
    next: 'Update the app, or restore the other backup in the list.',
  },
  // the SDK
  unexpected_response: {
    title: 'The backup server gave an answer this app does not understand.',
    next: 'Reload the page to get the newest app, then try again.',
  },
  network_error: { title: 'We could not reach the backup server.', next: OFFLINE },
  timeout: { title: 'The backup server took too long to answer.', next: OFFLINE },
  stalled: { title: 'The transfer stopped moving.', next: OFFLINE },
  incomplete_transfer: { title: 'The transfer was cut off before it finished.', next: OFFLINE },
  integrity_error: {
    title: 'The stored backup does not match what the server recorded.',
    next: OTHER_BACKUP,
  },
  aborted: { title: 'The operation was cancelled.', next: 'Start it again when you are ready.' },
  interrupted: {
    title: 'The last backup was interrupted before it finished.',
    next: 'Back up now, or wait for the next automatic backup. Your backups on the server are unchanged.',
  },
  busy: { title: 'A backup or restore is already running.', next: 'Wait for it to finish.' },
  backup_changed: {
    title: 'That backup was replaced on the server while it downloaded.',
    next: 'Refresh the list and choose a backup again. Nothing on this device changed.',
  },
  rollback_confirmation_required: {
    title: 'This backup may be older than the newest one this device has seen.',
    next: 'Restore it only if you are sure: payments made since may be gone from this device.',
  },
  foreign_wallet: {
    title: 'This backup was made by another kind of wallet.',
    next: 'It is intact, but this app cannot use what it holds. Restore it with the app or the noah-backup command line that made it. Nothing on this device changed.',
  },
  unexpected: GENERIC,
  // the wallet adapters
  not_a_wallet: {
    title: 'There is no wallet on this device to back up.',
    next: 'Create or restore a wallet first. Your backups on the server are unchanged.',
  },
  corrupt_wallet_database: {
    title: 'The wallet database on this device is damaged, so it was not backed up.',
    next: 'Your backups on the server are unchanged. Restore one of them to repair this wallet.',
  },
  wallet_database_missing: {
    title: 'A database the wallet held at its last backup is gone, so it was not backed up.',
    next: 'Your backups on the server are unchanged. Restore one of them if the wallet lost data.',
  },
  integrity_check_failed: {
    title: 'This backup is corrupted: its wallet database is damaged.',
    next: OTHER_BACKUP,
  },
  empty_backup: {
    title: 'This backup holds no wallet: it has no wallet database in it.',
    next: `Nothing on this device changed. ${OTHER_BACKUP}`,
  },
  unsafe_archive: {
    title:
      'This backup is damaged, or holds entries this app refuses to unpack, such as links or paths outside the wallet.',
    next: `Nothing on this device changed. ${OTHER_BACKUP}`,
  },
  restore_conflict: {
    title: 'An interrupted restore left two wallets on this device.',
    next: 'Both are kept. Choose the one to keep, then back up again.',
  },
  target_not_a_wallet: {
    title: 'The place to restore into holds other files.',
    next: 'Restore into an empty place, or move those files away first. Nothing was changed.',
  },
  noah_wallet_missing: {
    title: 'This wallet cannot be saved in the Noah app’s format.',
    next: 'The Noah app would restore it as an empty wallet, so nothing was uploaded. Back up in the default format instead.',
  },
  invalid_data_dir: {
    title: 'The wallet’s place on this device is not a folder.',
    next: 'Choose a folder, or a place where a new one can be made.',
  },
  insufficient_space: {
    title: 'There is not enough free space on this device.',
    next: 'Free some space, then try again. Nothing was changed.',
  },
  state_corrupt: {
    title: 'The backup records kept on this device are damaged.',
    next: 'Reload the page. Your backups on the server are unchanged.',
  },
  lock_timeout: {
    title: 'Another backup on this device is holding its lock.',
    next: 'Wait a minute, then try again.',
  },
  // the command line
  usage: { title: 'That request was not understood.', next: 'Check it, then try again.' },
  file_not_found: { title: 'That file does not exist.', next: 'Check its name and place.' },
  is_a_directory: { title: 'That is a folder, not a file.', next: 'Choose a file.' },
  target_is_mount_point: {
    title: 'The wallet folder is a mount point, which cannot be replaced in one step.',
    next: 'Restore into a folder inside it.',
  },
  not_a_directory: {
    title: 'A file stands where a folder is needed.',
    next: 'Choose a folder.',
  },
  target_not_empty: {
    title: 'That folder is not empty.',
    next: 'Choose an empty or new folder. Nothing was written.',
  },
  not_writable: {
    title: 'This device does not allow writing there.',
    next: 'Choose another place, or allow writing to it.',
  },
  permission_denied: {
    title: 'This device does not allow reading that.',
    next: 'Check its permissions, then try again.',
  },
  // this app and its backup worker
  no_backups: {
    title: 'We found no backups for this seedphrase.',
    next: 'Check the words and their order, or create a new wallet instead.',
  },
  worker_failed: {
    title: 'The backup engine of this page stopped unexpectedly.',
    next: 'Reload the page, then try again.',
  },
  not_initialised: GENERIC,
  no_such_method: GENERIC,
  stream_closed: GENERIC,
};
