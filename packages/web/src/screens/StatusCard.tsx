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
import { ErrorNotice, ProgressBar } from '../ui/components.tsx';
import { automaticBadge, STATUS_CARD, statusCardView } from '@noah-backup/client/ui/status-view';

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
  const {
    view,
    verification: verified,
    tone,
  } = statusCardView({ status, activity, progress, backupsAllowed, backupsNotAllowedReason }, now);

  let body: ReactNode;
  if (view.kind === 'busy') body = <ProgressBar {...view.progress} />;
  else if (view.kind === 'not_allowed')
    body = (
      <>
        <div className="notice warn" id="status-not-allowed" data-testid="backups-not-allowed">
          <p className="notice-title">{view.message.title}</p>
          <p>{view.message.next}</p>
        </div>
        {view.detail ? <p className="muted small">{view.detail}</p> : null}
        <button
          type="button"
          className="button primary"
          disabled
          aria-describedby="status-not-allowed"
        >
          {STATUS_CARD.backUpNow}
        </button>
      </>
    );
  else if (view.kind === 'failed')
    body = (
      <>
        <p>{view.line}</p>
        <ErrorNotice
          error={error ?? view.error}
          action={{ label: STATUS_CARD.retry, onClick: backUp }}
        />
      </>
    );
  else if (view.kind === 'never' || view.kind === 'stale')
    body = (
      <>
        <p className="status-line">{view.line}</p>
        <button type="button" className="button primary" onClick={backUp}>
          {STATUS_CARD.backUpNow}
        </button>
      </>
    );
  else if (view.kind === 'restored')
    body = (
      <>
        <p className="status-line">{view.line}</p>
        <p className="muted small">{view.detail}</p>
      </>
    );
  else
    body = (
      <p className="status-line">
        {view.line} <span className="muted small">({view.detail})</span>
      </p>
    );

  return (
    <section
      className={`card status-card tone-${tone}`}
      aria-labelledby="status-title"
      data-testid="status-card"
    >
      <div className="card-head">
        <h2 id="status-title">{STATUS_CARD.title}</h2>
        <span className="badge">{automaticBadge(isBackupEnabled)}</span>
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
        {STATUS_CARD.openSettings}
      </button>
    </section>
  );
}
