/**
 * Backup settings (README.md "The web app"): the automatic-backup switch (turning it on
 * makes the first backup at once when one is due), "Back up now" with a progress bar by
 * phase and bytes, the (at most two) backups with date and size (seconds when two share
 * a minute), restore one after a confirmation, delete one after a confirmation. Each
 * card shows its own action's progress, outcome and errors. A backup or restore started
 * here can be cancelled; neither the server's backups nor the wallet change then.
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { useBackupManager, useBackupSettingsFlow } from '@noah-backup/client/react';
import type { CardOutcome } from '@noah-backup/client/ui/backup-settings-flow';
import { BACKUP_SETTINGS as B } from '@noah-backup/client/ui/copy';
import { formatBytes } from '@noah-backup/client/ui/format';
import { backupsNotAllowed } from '@noah-backup/client/ui/messages';
import { progressView } from '@noah-backup/client/ui/progress';
import { verificationView } from '@noah-backup/client/ui/verification';
import type { BackupInfo } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { ConfirmDialog, ErrorNotice, ProgressBar, Switch } from '../ui/components.tsx';

/** A listed backup's last verification (docs/API.md "Verification"), if any. */
function BackupVerification({
  verification: v,
  now,
}: {
  verification: BackupInfo['verification'];
  now: Date;
}) {
  const view = verificationView(v && { at: v.verified_at, status: v.status }, now);
  if (!view) return null;
  return view.tone === 'ok' ? (
    <div className="muted small" data-testid="backup-verification">
      {view.text}
    </div>
  ) : (
    <div className="small verification-warn" data-testid="backup-verification" role="note">
      {view.message.title}
    </div>
  );
}

/** A card's outcome: a notice (role="status") and an error, shown inside that card. */
function Outcome({ notice, failure }: CardOutcome) {
  return (
    <>
      {failure ? (
        <ErrorNotice
          error={failure.error}
          action={failure.retry ? { label: B.tryAgain, onClick: failure.retry } : undefined}
        />
      ) : null}
      <div role="status">{notice ? <p className="notice ok">{notice}</p> : null}</div>
    </>
  );
}

/** The backup settings screen. */
export function BackupSettings({ manager, clock }: { manager: BackupManager; clock: Clock }) {
  const m = useBackupManager(manager);
  // What each action does and says lives in the shared flow (the React Native example
  // draws the same); this screen only draws it.
  const [flow, s] = useBackupSettingsFlow(manager, clock);
  const { backups, listError, done, restored, pending } = s;
  const busy = m.activity !== null;
  const notAllowed =
    m.backupsAllowed === false ? backupsNotAllowed(m.backupsNotAllowedReason) : null;
  const notAllowedNotice = (id: string) =>
    notAllowed ? (
      <div className="notice warn" id={id} data-testid="backups-not-allowed">
        <p className="notice-title">{notAllowed.title}</p>
        <p>{notAllowed.next}</p>
      </div>
    ) : null;
  const when = flow.when;

  const live = m.progress ? progressView(m.progress) : null;
  const cancel = (label: string) =>
    s.cancellable && busy ? (
      <button type="button" className="button secondary" onClick={flow.cancel}>
        {label}
      </button>
    ) : null;
  return (
    <>
      <section className="card" aria-labelledby="auto-title">
        <h2 id="auto-title">{B.automaticTitle}</h2>
        <Switch
          label={B.automaticLabel}
          description={notAllowed?.title ?? B.automaticDescription}
          checked={m.isBackupEnabled === true}
          disabled={m.isBackupEnabled === null || busy || notAllowed !== null}
          onChange={flow.toggle}
        />
        <Outcome {...s.auto} />
      </section>

      <section className="card" aria-labelledby="now-title">
        <h2 id="now-title">{B.nowTitle}</h2>
        <p className="muted">{B.nowDescription}</p>
        {notAllowedNotice('now-not-allowed')}
        <button
          type="button"
          className="button primary"
          onClick={flow.backUpNow}
          disabled={busy || notAllowed !== null}
          aria-describedby={notAllowed ? 'now-not-allowed' : undefined}
        >
          {m.activity === 'backup' ? B.backingUp : B.nowTitle}
        </button>
        <div className="progress-area" data-testid="backup-progress">
          {m.activity === 'backup' ? (
            <ProgressBar {...(live ?? { label: B.starting })} />
          ) : done ? (
            <>
              <ProgressBar
                label={done.label}
                percent={100}
                bytes={done.bytes ? { done: done.bytes, total: done.bytes } : undefined}
              />
              {done.sent ? (
                <p className="muted small" data-testid="backup-sent">
                  {done.sent}
                </p>
              ) : null}
            </>
          ) : null}
        </div>
        {m.activity === 'backup' ? cancel(B.cancelBackup) : null}
        <Outcome {...s.now} />
      </section>

      <section className="card" aria-labelledby="history-title">
        <div className="card-head">
          <h2 id="history-title">{B.historyTitle}</h2>
          <button type="button" className="link-button" onClick={flow.refresh} disabled={busy}>
            {B.refresh}
          </button>
        </div>
        {listError ? (
          <ErrorNotice error={listError} action={{ label: B.tryAgain, onClick: flow.refresh }} />
        ) : backups === null ? (
          <p className="muted">{B.loading}</p>
        ) : backups.length === 0 ? (
          <p className="muted">{B.empty}</p>
        ) : (
          <ul className="backups" aria-label="Backups on the server, newest first">
            {backups.map((b, i) => {
              const at = when(b.created_at);
              return (
                <li key={b.backup_version} className="backup-item" data-testid="backup-item">
                  <div>
                    <div className="backup-date">
                      {at} {i === 0 ? <span className="badge">{B.newest}</span> : null}
                    </div>
                    <div className="muted small">{formatBytes(b.backup_size)}</div>
                    <BackupVerification verification={b.verification} now={clock.now()} />
                  </div>
                  <div className="row-actions">
                    <button
                      type="button"
                      className="button secondary"
                      disabled={busy}
                      aria-label={B.restoreLabel(at)}
                      onClick={() => flow.ask('restore', b, i === 0)}
                    >
                      {B.restore}
                    </button>
                    <button
                      type="button"
                      className="button ghost-danger"
                      disabled={busy}
                      aria-label={B.deleteLabel(at)}
                      onClick={() => flow.ask('delete', b, i === 0)}
                    >
                      {B.delete}
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
        )}
        <div className="progress-area" data-testid="restore-progress">
          {m.activity === 'restore' ? (
            <ProgressBar {...(live ?? { label: B.startingRestore })} />
          ) : restored ? (
            <ProgressBar label={B.walletRestored} percent={100} />
          ) : null}
        </div>
        {m.activity === 'restore' ? cancel(B.cancelRestore) : null}
        <Outcome {...s.history} />
      </section>

      <ConfirmDialog
        open={pending?.op === 'restore'}
        title={B.restoreTitle}
        confirmLabel={B.restore}
        onConfirm={flow.confirm}
        onCancel={flow.dismiss}
      >
        <p>
          {B.restoreBodyParts[0]}
          <strong>{pending ? when(pending.backup.created_at) : ''}</strong>
          {B.restoreBodyParts[1]}
        </p>
        {pending && !pending.newest ? <p className="notice warn">{B.notNewest}</p> : null}
        {pending?.doubt ? <p className="notice warn">{pending.doubt}</p> : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={pending?.op === 'delete'}
        title={B.deleteTitle}
        confirmLabel={B.delete}
        danger
        onConfirm={flow.confirm}
        onCancel={flow.dismiss}
      >
        <p>
          {B.deleteBodyParts[0]}
          <strong>{pending ? when(pending.backup.created_at) : ''}</strong>
          {B.deleteBodyParts[1]}
        </p>
      </ConfirmDialog>
    </>
  );
}
