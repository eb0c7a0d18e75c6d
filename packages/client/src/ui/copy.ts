/**
 * The wording of the backup screens an app shows: the onboarding step that turns on
 * automatic backups, and the backup settings. The web app and the React Native example
 * both render from here, so a wallet on either says the same thing.
 * @module
 */

/** The onboarding step "Back up automatically?". */
export const ENABLE_BACKUPS = {
  title: 'Back up automatically?',
  restored: 'Your wallet is restored. Keep it backed up from this device.',
  points: [
    "Once a day, Noah backs up your wallet's data to the backup server.",
    'Backups are encrypted on this device with a key made from your seedphrase. The server stores only encrypted bytes.',
    'The two newest backups are kept. You can restore or delete them any time.',
  ],
  firstBackup: 'Making your first backup',
  onButFailed: 'Automatic backups are on. The first backup did not finish:',
  turnOn: 'Turn on backups',
  notNow: 'Not now',
  tryAgain: 'Try again',
  continue: 'Continue',
} as const;

const RESTORE_PARTS = [
  'The wallet on this device will be replaced by the backup from ',
  '. Payments added after that backup will be gone from this device.',
] as const;
const DELETE_PARTS = [
  'The backup from ',
  ' will be removed from the server. This cannot be undone.',
] as const;

/** The backup settings screen. */
export const BACKUP_SETTINGS = {
  automaticTitle: 'Automatic backups',
  automaticLabel: 'Back up every day',
  automaticDescription:
    'Encrypted on this device with a key from your seedphrase. The server keeps your two newest backups.',
  off: 'Automatic backups are off.',
  on: 'Automatic backups are on.',
  onFirstMade: 'Automatic backups are on. Your first backup is made.',
  onFirstFailed: 'Automatic backups are on, but the first backup did not finish.',
  nowTitle: 'Back up now',
  nowDescription:
    'Makes a fresh encrypted copy of this wallet and uploads it. The older of your two backups is replaced.',
  backingUp: 'Backing up…',
  starting: 'Starting',
  complete: 'Backup complete',
  alreadyRunning: 'A backup is already running on this device.',
  backupCancelled: 'Backup cancelled. Your backups on the server are unchanged.',
  cancelBackup: 'Cancel backup',
  historyTitle: 'Your backups',
  refresh: 'Refresh',
  loading: 'Loading your backups…',
  empty: 'No backups yet. Use "Back up now" to make the first one.',
  newest: 'Newest',
  restore: 'Restore',
  delete: 'Delete',
  tryAgain: 'Try again',
  cancel: 'Cancel',
  restoreTitle: 'Restore this backup?',
  notNewest: 'This is not your newest backup.',
  deleteTitle: 'Delete this backup?',
  startingRestore: 'Starting the restore',
  walletRestored: 'Wallet restored',
  restoreCancelled: 'Restore cancelled. Your wallet is unchanged.',
  cancelRestore: 'Cancel restore',
  /** The restore dialog's text before and after the backup's time (set apart on the web). */
  restoreBodyParts: RESTORE_PARTS,
  /** The delete dialog's text before and after the backup's time. */
  deleteBodyParts: DELETE_PARTS,
  /** The restore dialog's text. */
  restoreBody: (at: string) => `${RESTORE_PARTS[0]}${at}${RESTORE_PARTS[1]}`,
  /** The delete dialog's text. */
  deleteBody: (at: string) => `${DELETE_PARTS[0]}${at}${DELETE_PARTS[1]}`,
  restored: (at: string) => `Restored the backup from ${at}.`,
  deleted: (at: string) => `Deleted the backup from ${at}.`,
  restoreLabel: (at: string) => `Restore the backup from ${at}`,
  deleteLabel: (at: string) => `Delete the backup from ${at}`,
} as const;
