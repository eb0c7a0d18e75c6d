/**
 * Backup settings (the document's phase 3): the automatic-backup switch, "Back up now"
 * with a progress bar by phase and bytes, the (at most two) backups with date and size,
 * restore one after a confirmation, delete one after a confirmation. A backup or restore
 * started here can be cancelled; neither the server's backups nor the wallet change then.
 * @module
 */
import type { BackupInfo } from '@noah-backup/core/api';
import type { BackupManager } from '@noah-backup/client/manager';
import { useBackupManager } from '@noah-backup/client/react';
import { NoahError } from '@noah-backup/core/errors';
import { useCallback, useEffect, useState } from 'react';
import { ConfirmDialog, ErrorNotice, ProgressBar, Switch } from '../ui/components.tsx';
import { formatBytes, formatDateTime } from '../ui/format.ts';
import { progressView } from '../ui/progress.ts';

type Pending = { op: 'restore' | 'delete'; backup: BackupInfo; newest: boolean } | null;
type Done = { label: string; bytes?: number } | null;

/** The backup settings screen. */
export function BackupSettings({ manager }: { manager: BackupManager }) {
  const m = useBackupManager(manager);
  const [backups, setBackups] = useState<BackupInfo[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  /** The last failure, shown in the card of the action that failed. */
  const [opError, setOpError] = useState<{
    error: unknown;
    card: 'backup' | 'history';
    retry?: () => void;
  } | null>(null);
  const [done, setDone] = useState<Done>(null);
  const [notice, setNotice] = useState('');
  const [pending, setPending] = useState<Pending>(null);
  /** The backup or restore started here, while it runs: its Cancel button aborts it. */
  const [running, setRunning] = useState<AbortController | null>(null);
  const busy = m.activity !== null;

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
    setOpError(null);
    try {
      await m.setBackupEnabled(enabled);
      setNotice(enabled ? 'Automatic backups are on.' : 'Automatic backups are off.');
    } catch (err) {
      setOpError({ error: err, card: 'backup', retry: () => void toggle(enabled) });
    }
  };

  const backUpNow = async () => {
    setOpError(null);
    setDone(null);
    setNotice('');
    try {
      const r = await cancellable((signal) => m.triggerBackup({ signal }));
      if (r.status === 'completed') setDone({ label: 'Backup complete', bytes: r.bytes });
      else setNotice('A backup is already running on this device.');
    } catch (err) {
      if (cancelled(err)) setNotice('Backup cancelled. Your backups on the server are unchanged.');
      else setOpError({ error: err, card: 'backup', retry: () => void backUpNow() });
    }
    await refresh();
  };

  const confirm = async () => {
    const p = pending;
    setPending(null);
    if (!p) return;
    setOpError(null);
    setDone(null);
    const when = formatDateTime(p.backup.created_at);
    try {
      if (p.op === 'restore') {
        // The dialog told the user when the chosen backup is not the newest.
        await cancellable((signal) =>
          m.restoreBackup(p.backup.backup_version, { confirmRollback: !p.newest, signal }),
        );
        setDone({ label: 'Wallet restored' });
        setNotice(`Restored the backup from ${when}.`);
      } else {
        await m.deleteBackup(p.backup.backup_version);
        setNotice(`Deleted the backup from ${when}.`);
      }
    } catch (err) {
      if (cancelled(err)) setNotice('Restore cancelled. Your wallet is unchanged.');
      else setOpError({ error: err, card: 'history' });
    }
    await refresh();
  };

  const live = m.progress ? progressView(m.progress) : null;
  return (
    <>
      <section className="card" aria-labelledby="auto-title">
        <h2 id="auto-title">Automatic backups</h2>
        <Switch
          label="Back up automatically every day"
          description="Encrypted on this device with a key from your seedphrase. The server keeps your two newest backups."
          checked={m.isBackupEnabled === true}
          disabled={m.isBackupEnabled === null || busy}
          onChange={toggle}
        />
      </section>

      <section className="card" aria-labelledby="now-title">
        <h2 id="now-title">Back up now</h2>
        <p className="muted">
          Makes a fresh encrypted copy of this wallet and uploads it. The older of your two backups
          is replaced.
        </p>
        <button type="button" className="button primary" onClick={backUpNow} disabled={busy}>
          {m.activity === 'backup' ? 'Backing up…' : 'Back up now'}
        </button>
        <div className="progress-area" data-testid="backup-progress">
          {live ? (
            <ProgressBar {...live} />
          ) : busy ? (
            <ProgressBar label="Starting" />
          ) : done ? (
            <ProgressBar
              label={done.label}
              percent={100}
              bytes={done.bytes ? { done: done.bytes, total: done.bytes } : undefined}
            />
          ) : null}
        </div>
        {running && busy ? (
          <button type="button" className="button secondary" onClick={() => running.abort()}>
            {m.activity === 'restore' ? 'Cancel restore' : 'Cancel backup'}
          </button>
        ) : null}
        {opError?.card === 'backup' ? (
          <ErrorNotice
            error={opError.error}
            action={opError.retry ? { label: 'Try again', onClick: opError.retry } : undefined}
          />
        ) : null}
        <div role="status">{notice ? <p className="notice ok">{notice}</p> : null}</div>
      </section>

      <section className="card" aria-labelledby="history-title">
        <div className="card-head">
          <h2 id="history-title">Your backups</h2>
          <button type="button" className="link-button" onClick={refresh} disabled={busy}>
            Refresh
          </button>
        </div>
        {opError?.card === 'history' ? <ErrorNotice error={opError.error} /> : null}
        {listError ? (
          <ErrorNotice error={listError} action={{ label: 'Try again', onClick: refresh }} />
        ) : backups === null ? (
          <p className="muted">Loading your backups…</p>
        ) : backups.length === 0 ? (
          <p className="muted">No backups yet. Use "Back up now" to make the first one.</p>
        ) : (
          <ul className="backups" aria-label="Backups on the server, newest first">
            {backups.map((b, i) => {
              const when = formatDateTime(b.created_at);
              return (
                <li key={b.backup_version} className="backup-item" data-testid="backup-item">
                  <div>
                    <div className="backup-date">
                      {when} {i === 0 ? <span className="badge">Newest</span> : null}
                    </div>
                    <div className="muted small">
                      {formatBytes(b.backup_size)} · slot {b.backup_version}
                    </div>
                  </div>
                  <div className="row-actions">
                    <button
                      type="button"
                      className="button secondary"
                      disabled={busy}
                      aria-label={`Restore the backup from ${when}`}
                      onClick={() => setPending({ op: 'restore', backup: b, newest: i === 0 })}
                    >
                      Restore
                    </button>
                    <button
                      type="button"
                      className="button ghost-danger"
                      disabled={busy}
                      aria-label={`Delete the backup from ${when}`}
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
          <strong>{pending ? formatDateTime(pending.backup.created_at) : ''}</strong>. Payments
          added after that backup will be gone from this device.
        </p>
        {pending && !pending.newest ? (
          <p className="notice warn">This is not your newest backup.</p>
        ) : null}
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
          The backup from{' '}
          <strong>{pending ? formatDateTime(pending.backup.created_at) : ''}</strong> will be
          removed from the server. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
