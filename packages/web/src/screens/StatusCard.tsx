/**
 * The backup status card on the settings screen (README.md "The web app"): last backup
 * time (or, after a restore, the backup the wallet came from), "backup recommended" when
 * that is over a day old, a failure with a retry, and live progress while a backup runs.
 * When the server takes no backups of this user (its rollout, docs/OPERATIONS.md
 * "Rollout") it says so, and "Back up now" is disabled with that reason. Below, the last
 * verification of the backups (docs/API.md "Verification"): "verified 3 days ago", or a
 * warning when it failed or is older than the period the device verifies in.
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { useBackupManager } from '@noah-backup/client/react';
import type { Clock } from '@noah-backup/core/clock';
import { type ReactNode, useEffect, useState } from 'react';
import { backupDue, lastBackup } from '../ui/backup-state.ts';
import { ErrorNotice, ProgressBar } from '../ui/components.tsx';
import { formatDateTime, timeAgo } from '../ui/format.ts';
import { backupsNotAllowed } from '../ui/messages.ts';
import { progressView } from '../ui/progress.ts';
import { verificationView } from '../ui/verification.ts';

/** Re-renders every `ms` so relative times stay true. */
export function useNow(clock: Clock, ms = 30_000): Date {
  const [now, setNow] = useState(() => clock.now());
  useEffect(() => {
    const t = setInterval(() => setNow(clock.now()), ms);
    return () => clearInterval(t);
  }, [clock, ms]);
  return now;
}

/** Props of {@link StatusCard}. */
export interface StatusCardProps {
  manager: BackupManager;
  clock: Clock;
  onOpenSettings(): void;
}

/** The status card. */
export function StatusCard({ manager, clock, onOpenSettings }: StatusCardProps) {
  const {
    status,
    activity,
    progress,
    isBackupEnabled,
    backupsAllowed,
    backupsNotAllowedReason,
    triggerBackup,
  } = useBackupManager(manager);
  const now = useNow(clock);
  const [error, setError] = useState<unknown>(null);
  const backUp = async () => {
    setError(null);
    try {
      await triggerBackup();
    } catch (err) {
      setError(err);
    }
  };
  const last = lastBackup(status);
  const stale = last !== null && backupDue(status, now);

  let body: ReactNode;
  let tone = 'ok';
  if (activity === 'backup' || activity === 'restore') {
    tone = 'busy';
    body = progress ? (
      <ProgressBar {...progressView(progress)} />
    ) : (
      <ProgressBar label={activity === 'backup' ? 'Starting the backup' : 'Starting the restore'} />
    );
  } else if (backupsAllowed === false) {
    tone = 'warn';
    const why = backupsNotAllowed(backupsNotAllowedReason);
    body = (
      <>
        <div className="notice warn" id="status-not-allowed" data-testid="backups-not-allowed">
          <p className="notice-title">{why.title}</p>
          <p>{why.next}</p>
        </div>
        {last ? (
          <p className="muted small">
            {last.restored ? 'Restored from a backup made' : 'Last backed up'}{' '}
            {timeAgo(last.at, now)}.
          </p>
        ) : null}
        <button
          type="button"
          className="button primary"
          disabled
          aria-describedby="status-not-allowed"
        >
          Back up now
        </button>
      </>
    );
  } else if (status.state === 'failed' && status.lastError) {
    tone = 'bad';
    body = (
      <>
        <p>Your last backup did not finish.</p>
        <ErrorNotice
          error={error ?? status.lastError}
          action={{ label: 'Retry backup', onClick: backUp }}
        />
      </>
    );
  } else if (last === null) {
    tone = 'warn';
    body = (
      <>
        <p className="status-line">Backup recommended: this wallet has never been backed up.</p>
        <button type="button" className="button primary" onClick={backUp}>
          Back up now
        </button>
      </>
    );
  } else if (stale) {
    tone = 'warn';
    body = (
      <>
        <p className="status-line">
          {last.restored
            ? `Backup recommended: this wallet was restored from a backup made ${timeAgo(last.at, now)}.`
            : `Backup recommended: your last backup was ${timeAgo(last.at, now)}.`}
        </p>
        <button type="button" className="button primary" onClick={backUp}>
          Back up now
        </button>
      </>
    );
  } else if (last.restored) {
    body = (
      <>
        <p className="status-line">
          Restored from your backup of {formatDateTime(last.at, { seconds: true })}
        </p>
        <p className="muted small">That backup was made {timeAgo(last.at, now)}.</p>
      </>
    );
  } else {
    body = (
      <p className="status-line">
        Backed up {timeAgo(last.at, now)}{' '}
        <span className="muted small">({formatDateTime(last.at)})</span>
      </p>
    );
  }

  const verified =
    activity === 'backup' || activity === 'restore' || backupsAllowed === false
      ? null
      : verificationView(status.lastVerification, now);
  if (verified?.tone === 'warn' && tone === 'ok') tone = 'warn';

  return (
    <section
      className={`card status-card tone-${tone}`}
      aria-labelledby="status-title"
      data-testid="status-card"
    >
      <div className="card-head">
        <h2 id="status-title">Backup</h2>
        <span className="badge">
          Automatic backups {isBackupEnabled === null ? '…' : isBackupEnabled ? 'on' : 'off'}
        </span>
      </div>
      <div aria-live="polite">
        {body}
        {verified?.tone === 'ok' ? (
          <p className="muted small" data-testid="verification">
            {verified.text}
          </p>
        ) : verified ? (
          <div className="notice warn" data-testid="verification">
            <p className="notice-title">{verified.message.title}</p>
            <p>{verified.message.next}</p>
          </div>
        ) : null}
      </div>
      {error && status.state !== 'failed' ? <ErrorNotice error={error} /> : null}
      <button type="button" className="link-button" onClick={onOpenSettings}>
        Backup settings
      </button>
    </section>
  );
}
