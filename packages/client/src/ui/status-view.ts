/**
 * The backup status card as data: which of its states applies, its tone, its
 * sentences and the last verification's line, from the manager's snapshot and the time. The web app's card and the React
 * Native example's render the same view, so they say the same thing.
 * @module
 */
import type { Activity, ManagerSnapshot } from '../status.ts';
import { backupDue, lastBackup } from './backup-state.ts';
import { formatDateTime, timeAgo } from './format.ts';
import { backupsNotAllowed, type Message } from './messages.ts';
import { type ProgressView, progressView } from './progress.ts';
import { type VerificationView, verificationView } from './verification.ts';

/** The card's colour: all well, a backup is due, the last one failed, one is running. */
export type StatusTone = 'ok' | 'warn' | 'bad' | 'busy';

/** The card's body. `line` is its main sentence; `detail` a smaller one under it. */
export type StatusView =
  | { kind: 'busy'; tone: 'busy'; activity: Activity; progress: ProgressView }
  /** The server takes no backups of this user now: say why; "Back up now" is disabled. */
  | { kind: 'not_allowed'; tone: 'warn'; message: Message; detail: string | null }
  /** The last backup failed: `error` is what the manager recorded. */
  | { kind: 'failed'; tone: 'bad'; line: string; error: { code: string; message: string } }
  | { kind: 'never'; tone: 'warn'; line: string }
  | { kind: 'stale'; tone: 'warn'; line: string }
  | { kind: 'restored'; tone: 'ok'; line: string; detail: string }
  | { kind: 'ok'; tone: 'ok'; line: string; detail: string };

/** The card's fixed wording. */
export const STATUS_CARD = {
  title: 'Backup',
  backUpNow: 'Back up now',
  retry: 'Retry backup',
  openSettings: 'Backup settings',
  failed: 'Your last backup did not finish.',
  never: 'Backup recommended: this wallet has never been backed up.',
} as const;

/**
 * The badge beside the card's title.
 *
 * @param enabled - the snapshot's `backupEnabled` (null: not known yet)
 */
export function automaticBadge(enabled: boolean | null): string {
  return `Automatic backups ${enabled === null ? '…' : enabled ? 'on' : 'off'}`;
}

/**
 * What the status card shows.
 *
 * @param s - the manager's snapshot
 * @param now - the current time
 * @returns the card's state and sentences
 * @example
 * ```ts
 * const view = statusView(manager.getSnapshot(), new Date());
 * if (view.kind === 'stale') show(view.line); // "Backup recommended: your last backup was 2 days ago."
 * ```
 */
export function statusView(
  s: Pick<
    ManagerSnapshot,
    'status' | 'activity' | 'progress' | 'backupsAllowed' | 'backupsNotAllowedReason'
  >,
  now: Date,
): StatusView {
  const { status, activity, progress } = s;
  if (activity === 'backup' || activity === 'restore')
    return {
      kind: 'busy',
      tone: 'busy',
      activity,
      progress: progress
        ? progressView(progress)
        : { label: activity === 'backup' ? 'Starting the backup' : 'Starting the restore' },
    };
  const last = lastBackup(status);
  if (s.backupsAllowed === false)
    return {
      kind: 'not_allowed',
      tone: 'warn',
      message: backupsNotAllowed(s.backupsNotAllowedReason),
      detail: last
        ? `${last.restored ? 'Restored from a backup made' : 'Last backed up'} ${timeAgo(last.at, now)}.`
        : null,
    };
  if (status.state === 'failed' && status.lastError)
    return { kind: 'failed', tone: 'bad', line: STATUS_CARD.failed, error: status.lastError };
  if (last === null) return { kind: 'never', tone: 'warn', line: STATUS_CARD.never };
  const ago = timeAgo(last.at, now);
  if (backupDue(status, now))
    return {
      kind: 'stale',
      tone: 'warn',
      line: last.restored
        ? `Backup recommended: this wallet was restored from a backup made ${ago}.`
        : `Backup recommended: your last backup was ${ago}.`,
    };
  if (last.restored)
    return {
      kind: 'restored',
      tone: 'ok',
      line: `Restored from your backup of ${formatDateTime(last.at, { seconds: true })}`,
      detail: `That backup was made ${ago}.`,
    };
  return { kind: 'ok', tone: 'ok', line: `Backed up ${ago}`, detail: formatDateTime(last.at) };
}

/** The whole card: its body, the last verification's line under it, and the card's tone. */
export interface StatusCardView {
  view: StatusView;
  /** The last verification (docs/API.md "Verification"); null while busy, when backups are
   * not allowed, or when this device has none. */
  verification: VerificationView | null;
  /** The body's tone, made `warn` by a verification warning under an `ok` body. */
  tone: StatusTone;
}

/**
 * What the status card shows, the last verification included: the web app's card and
 * the React Native example's both render this.
 *
 * @param s - the manager's snapshot
 * @param now - the current time
 * @example
 * ```ts
 * const { view, verification, tone } = statusCardView(manager.getSnapshot(), new Date());
 * if (verification?.tone === 'ok') show(verification.text); // "Verified 3 days ago: …"
 * ```
 */
export function statusCardView(
  s: Pick<
    ManagerSnapshot,
    'status' | 'activity' | 'progress' | 'backupsAllowed' | 'backupsNotAllowedReason'
  >,
  now: Date,
): StatusCardView {
  const view = statusView(s, now);
  const verification =
    view.kind === 'busy' || view.kind === 'not_allowed'
      ? null
      : verificationView(s.status.lastVerification, now);
  const tone = verification?.tone === 'warn' && view.tone === 'ok' ? 'warn' : view.tone;
  return { view, verification, tone };
}
