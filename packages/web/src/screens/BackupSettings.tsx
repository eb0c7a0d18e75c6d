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
import { useBackupManager } from '@noah-backup/client/react';
import type { BackupInfo } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { useCallback, useEffect, useState } from 'react';
import { firstBackupIfDue } from '@noah-backup/client/ui/backup-state';
import { BACKUP_SETTINGS as B } from '@noah-backup/client/ui/copy';
import { ConfirmDialog, ErrorNotice, ProgressBar, Switch } from '../ui/components.tsx';
import { describeError } from '@noah-backup/client/ui/describe-error';
import { backupsNotAllowed } from '@noah-backup/client/ui/messages';
import { backupTimes, formatBytes, formatSent } from '@noah-backup/client/ui/format';
import { progressView } from '@noah-backup/client/ui/progress';
import { verificationView } from '@noah-backup/client/ui/verification';

type Pending = {
  op: 'restore' | 'delete';
  backup: BackupInfo;
  newest: boolean;
  /** The manager's doubt, once it found the backup may be older than this wallet. */
  doubt?: string;
} | null;
type Done = { label: string; bytes?: number; sent?: string } | null;
/** A failure, with a retry when one makes sense. */
type Failure = { error: unknown; retry?: () => void } | null;

/** A card's outcome: a notice (role="status") and an error, shown inside that card. */
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

function Outcome({ notice, failure }: { notice: string; failure: Failure }) {
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
  const [backups, setBackups] = useState<BackupInfo[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  // Each card says what happened to its own action, next to it.
  const [autoNotice, setAutoNotice] = useState('');
  const [autoFailure, setAutoFailure] = useState<Failure>(null);
  const [backupNotice, setBackupNotice] = useState('');
  const [backupFailure, setBackupFailure] = useState<Failure>(null);
  const [historyNotice, setHistoryNotice] = useState('');
  const [historyFailure, setHistoryFailure] = useState<Failure>(null);
  const [done, setDone] = useState<Done>(null);
  const [restored, setRestored] = useState(false);
  const [pending, setPending] = useState<Pending>(null);
  /** The backup or restore started here, while it runs: its Cancel button aborts it. */
  const [running, setRunning] = useState<AbortController | null>(null);
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

  const cancellable = async <T,>(run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    setRunning(controller);
    try {
      return await run(controller.signal);
    } finally {
      setRunning((r) => (r === controller ? null : r));
    }
  };
  const cancelled = (err: unknown) => err instanceof NoahError && err.code === 'aborted';

  const refresh = useCallback(async () => {
    setListError(null);
    try {
      setBackups(await manager.listBackups());
    } catch (err) {
      setListError(err);
    }
  }, [manager]);
  useEffect(() => {
    void refresh();
  }, [refresh]);

  const toggle = async (enabled: boolean) => {
    setAutoFailure(null);
    setAutoNotice('');
    let on = false;
    try {
      await m.setBackupEnabled(enabled);
      on = enabled;
      if (!enabled) return setAutoNotice(B.off);
      setDone(null);
      setBackupNotice('');
      const made = await cancellable((signal) =>
        firstBackupIfDue(manager, clock.now(), () => undefined, signal),
      );
      setAutoNotice(made ? B.onFirstMade : B.on);
    } catch (err) {
      if (on) setAutoNotice(B.onFirstFailed);
      setAutoFailure({ error: err, retry: () => void toggle(enabled) });
    }
    await refresh();
  };

  const backUpNow = async () => {
    setBackupFailure(null);
    setDone(null);
    setBackupNotice('');
    try {
      const r = await cancellable((signal) => m.triggerBackup({ signal }));
      if (r.status === 'completed')
        setDone({
          label: B.complete,
          ...(r.incremental ? { sent: formatSent(r.incremental) } : { bytes: r.bytes }),
        });
      else setBackupNotice(B.alreadyRunning);
    } catch (err) {
      if (cancelled(err)) setBackupNotice(B.backupCancelled);
      else setBackupFailure({ error: err, retry: () => void backUpNow() });
    }
    await refresh();
  };

  const when = backupTimes((backups ?? []).map((b) => b.created_at));

  const confirm = async () => {
    const p = pending;
    setPending(null);
    if (!p) return;
    setHistoryFailure(null);
    setHistoryNotice('');
    setRestored(false);
    const at = when(p.backup.created_at);
    try {
      if (p.op === 'restore') {
        // The dialog told the user when the chosen backup is not the newest, or why the
        // manager doubts that the newest is not older (docs/FORMAT.md §6.6).
        await cancellable((signal) =>
          m.restoreBackup(p.backup.backup_version, {
            confirmRollback: !p.newest || p.doubt !== undefined,
            signal,
          }),
        );
        setRestored(true);
        setHistoryNotice(B.restored(at));
      } else {
        await m.deleteBackup(p.backup.backup_version);
        setHistoryNotice(B.deleted(at));
      }
    } catch (err) {
      if (cancelled(err)) setHistoryNotice(B.restoreCancelled);
      else if (
        err instanceof NoahError &&
        err.code === 'rollback_confirmation_required' &&
        p.doubt === undefined
      ) {
        // Nothing was changed: ask again, saying why.
        const { title, next } = describeError(err);
        setPending({ ...p, doubt: `${title} ${next}` });
        return;
      } else setHistoryFailure({ error: err });
    }
    await refresh();
  };

  const live = m.progress ? progressView(m.progress) : null;
  const cancel = (label: string) =>
    running && busy ? (
      <button type="button" className="button secondary" onClick={() => running.abort()}>
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
          onChange={toggle}
        />
        <Outcome notice={autoNotice} failure={autoFailure} />
      </section>

      <section className="card" aria-labelledby="now-title">
        <h2 id="now-title">{B.nowTitle}</h2>
        <p className="muted">{B.nowDescription}</p>
        {notAllowedNotice('now-not-allowed')}
        <button
          type="button"
          className="button primary"
          onClick={backUpNow}
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
        <Outcome notice={backupNotice} failure={backupFailure} />
      </section>

      <section className="card" aria-labelledby="history-title">
        <div className="card-head">
          <h2 id="history-title">{B.historyTitle}</h2>
          <button type="button" className="link-button" onClick={refresh} disabled={busy}>
            {B.refresh}
          </button>
        </div>
        {listError ? (
          <ErrorNotice error={listError} action={{ label: B.tryAgain, onClick: refresh }} />
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
                      onClick={() => setPending({ op: 'restore', backup: b, newest: i === 0 })}
                    >
                      {B.restore}
                    </button>
                    <button
                      type="button"
                      className="button ghost-danger"
                      disabled={busy}
                      aria-label={B.deleteLabel(at)}
                      onClick={() => setPending({ op: 'delete', backup: b, newest: i === 0 })}
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
        <Outcome notice={historyNotice} failure={historyFailure} />
      </section>

      <ConfirmDialog
        open={pending?.op === 'restore'}
        title={B.restoreTitle}
        confirmLabel={B.restore}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
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
        onConfirm={confirm}
        onCancel={() => setPending(null)}
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
