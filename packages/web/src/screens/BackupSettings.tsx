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
import { firstBackupIfDue } from '../ui/backup-state.ts';
import { ConfirmDialog, ErrorNotice, ProgressBar, Switch } from '../ui/components.tsx';
import { describeError } from '../ui/errors.ts';
import { backupsNotAllowed } from '../ui/messages.ts';
import { backupTimes, formatBytes, formatSent } from '../ui/format.ts';
import { progressView } from '../ui/progress.ts';
import { verificationView } from '../ui/verification.ts';

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
          action={failure.retry ? { label: 'Try again', onClick: failure.retry } : undefined}
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
      if (!enabled) return setAutoNotice('Automatic backups are off.');
      setDone(null);
      setBackupNotice('');
      const made = await cancellable((signal) =>
        firstBackupIfDue(manager, clock.now(), () => undefined, signal),
      );
      setAutoNotice(
        made ? 'Automatic backups are on. Your first backup is made.' : 'Automatic backups are on.',
      );
    } catch (err) {
      if (on) setAutoNotice('Automatic backups are on, but the first backup did not finish.');
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
          label: 'Backup complete',
          ...(r.incremental ? { sent: formatSent(r.incremental) } : { bytes: r.bytes }),
        });
      else setBackupNotice('A backup is already running on this device.');
    } catch (err) {
      if (cancelled(err))
        setBackupNotice('Backup cancelled. Your backups on the server are unchanged.');
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
        setHistoryNotice(`Restored the backup from ${at}.`);
      } else {
        await m.deleteBackup(p.backup.backup_version);
        setHistoryNotice(`Deleted the backup from ${at}.`);
      }
    } catch (err) {
      if (cancelled(err)) setHistoryNotice('Restore cancelled. Your wallet is unchanged.');
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
        <h2 id="auto-title">Automatic backups</h2>
        <Switch
          label="Back up every day"
          description={
            notAllowed?.title ??
            'Encrypted on this device with a key from your seedphrase. The server keeps your two newest backups.'
          }
          checked={m.isBackupEnabled === true}
          disabled={m.isBackupEnabled === null || busy || notAllowed !== null}
          onChange={toggle}
        />
        <Outcome notice={autoNotice} failure={autoFailure} />
      </section>

      <section className="card" aria-labelledby="now-title">
        <h2 id="now-title">Back up now</h2>
        <p className="muted">
          Makes a fresh encrypted copy of this wallet and uploads it. The older of your two backups
          is replaced.
        </p>
        {notAllowedNotice('now-not-allowed')}
        <button
          type="button"
          className="button primary"
          onClick={backUpNow}
          disabled={busy || notAllowed !== null}
          aria-describedby={notAllowed ? 'now-not-allowed' : undefined}
        >
          {m.activity === 'backup' ? 'Backing up…' : 'Back up now'}
        </button>
        <div className="progress-area" data-testid="backup-progress">
          {m.activity === 'backup' ? (
            <ProgressBar {...(live ?? { label: 'Starting' })} />
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
        {m.activity === 'backup' ? cancel('Cancel backup') : null}
        <Outcome notice={backupNotice} failure={backupFailure} />
      </section>

      <section className="card" aria-labelledby="history-title">
        <div className="card-head">
          <h2 id="history-title">Your backups</h2>
          <button type="button" className="link-button" onClick={refresh} disabled={busy}>
            Refresh
          </button>
        </div>
        {listError ? (
          <ErrorNotice error={listError} action={{ label: 'Try again', onClick: refresh }} />
        ) : backups === null ? (
          <p className="muted">Loading your backups…</p>
        ) : backups.length === 0 ? (
          <p className="muted">No backups yet. Use "Back up now" to make the first one.</p>
        ) : (
          <ul className="backups" aria-label="Backups on the server, newest first">
            {backups.map((b, i) => {
              const at = when(b.created_at);
              return (
                <li key={b.backup_version} className="backup-item" data-testid="backup-item">
                  <div>
                    <div className="backup-date">
                      {at} {i === 0 ? <span className="badge">Newest</span> : null}
                    </div>
                    <div className="muted small">{formatBytes(b.backup_size)}</div>
                    <BackupVerification verification={b.verification} now={clock.now()} />
                  </div>
                  <div className="row-actions">
                    <button
                      type="button"
                      className="button secondary"
                      disabled={busy}
                      aria-label={`Restore the backup from ${at}`}
                      onClick={() => setPending({ op: 'restore', backup: b, newest: i === 0 })}
                    >
                      Restore
                    </button>
                    <button
                      type="button"
                      className="button ghost-danger"
                      disabled={busy}
                      aria-label={`Delete the backup from ${at}`}
                      onClick={() => setPending({ op: 'delete', backup: b, newest: i === 0 })}
                    >
                      Delete
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
        )}
        <div className="progress-area" data-testid="restore-progress">
          {m.activity === 'restore' ? (
            <ProgressBar {...(live ?? { label: 'Starting the restore' })} />
          ) : restored ? (
            <ProgressBar label="Wallet restored" percent={100} />
          ) : null}
        </div>
        {m.activity === 'restore' ? cancel('Cancel restore') : null}
        <Outcome notice={historyNotice} failure={historyFailure} />
      </section>

      <ConfirmDialog
        open={pending?.op === 'restore'}
        title="Restore this backup?"
        confirmLabel="Restore"
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        <p>
          The wallet on this device will be replaced by the backup from{' '}
          <strong>{pending ? when(pending.backup.created_at) : ''}</strong>. Payments added after
          that backup will be gone from this device.
        </p>
        {pending && !pending.newest ? (
          <p className="notice warn">This is not your newest backup.</p>
        ) : null}
        {pending?.doubt ? <p className="notice warn">{pending.doubt}</p> : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={pending?.op === 'delete'}
        title="Delete this backup?"
        confirmLabel="Delete"
        danger
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        <p>
          The backup from <strong>{pending ? when(pending.backup.created_at) : ''}</strong> will be
          removed from the server. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
