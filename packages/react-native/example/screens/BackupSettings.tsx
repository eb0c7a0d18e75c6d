/**
 * Backup settings (the web app's screen, in its words): the automatic-backup switch
 * (turning it on makes the first backup when one is due), "Back up now" with progress
 * and a cancel, the backups on the server with restore and delete, each after a
 * confirmation. Each section says what happened to its own action (docs/REACT-NATIVE.md §6).
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { firstBackupIfDue } from '@noah-backup/client/ui/backup-state';
import { BACKUP_SETTINGS as B } from '@noah-backup/client/ui/copy';
import { describeError } from '@noah-backup/client/ui/describe-error';
import { backupTimes, formatBytes } from '@noah-backup/client/ui/format';
import { backupsNotAllowed } from '@noah-backup/client/ui/messages';
import { progressView } from '@noah-backup/client/ui/progress';
import type { BackupInfo } from '@noah-backup/core/api';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { useBackupManager } from '@noah-backup/react-native/hooks';
import { useCallback, useEffect, useState } from 'react';
import { Switch, Text, View } from 'react-native';
import { Button, Card, ErrorNotice, Notice, ProgressBar, styles } from './components.tsx';

type Pending = { op: 'restore' | 'delete'; backup: BackupInfo; newest: boolean; doubt?: string };
type Failure = { error: unknown; retry?: () => void } | null;

function Outcome({ notice, failure }: { notice: string; failure: Failure }) {
  return (
    <>
      {failure ? (
        <ErrorNotice
          error={failure.error}
          action={failure.retry ? { label: B.tryAgain, onPress: failure.retry } : undefined}
        />
      ) : null}
      {notice ? <Notice tone="ok">{notice}</Notice> : null}
    </>
  );
}

export function BackupSettings({ manager, clock }: { manager: BackupManager; clock?: Clock }) {
  const m = useBackupManager(manager);
  const [backups, setBackups] = useState<BackupInfo[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [autoNotice, setAutoNotice] = useState('');
  const [autoFailure, setAutoFailure] = useState<Failure>(null);
  const [backupNotice, setBackupNotice] = useState('');
  const [backupFailure, setBackupFailure] = useState<Failure>(null);
  const [historyNotice, setHistoryNotice] = useState('');
  const [historyFailure, setHistoryFailure] = useState<Failure>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [running, setRunning] = useState<AbortController | null>(null);
  const busy = m.activity !== null;
  const notAllowed =
    m.backupsAllowed === false ? backupsNotAllowed(m.backupsNotAllowedReason) : null;
  const cancelled = (err: unknown) => err instanceof NoahError && err.code === 'aborted';

  const cancellable = async <T,>(run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    setRunning(controller);
    try {
      return await run(controller.signal);
    } finally {
      setRunning((r) => (r === controller ? null : r));
    }
  };

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
      const made = await cancellable((signal) =>
        firstBackupIfDue(manager, (clock ?? systemClock).now(), () => undefined, signal),
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
    setBackupNotice('');
    try {
      const r = await cancellable((signal) => m.triggerBackup({ signal }));
      setBackupNotice(r.status === 'completed' ? B.complete : B.alreadyRunning);
    } catch (err) {
      if (cancelled(err)) setBackupNotice(B.backupCancelled);
      else setBackupFailure({ error: err, retry: () => void backUpNow() });
    }
    await refresh();
  };

  const when = backupTimes((backups ?? []).map((b) => b.created_at));

  const confirm = async (p: Pending) => {
    setPending(null);
    setHistoryFailure(null);
    setHistoryNotice('');
    const at = when(p.backup.created_at);
    try {
      if (p.op === 'restore') {
        // Confirmed for an older backup, or after the manager's doubt (docs/FORMAT.md §6.6).
        await cancellable((signal) =>
          m.restoreBackup(p.backup.backup_version, {
            confirmRollback: !p.newest || p.doubt !== undefined,
            signal,
          }),
        );
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
      <Button label={label} onPress={() => running.abort()} kind="secondary" />
    ) : null;

  return (
    <View style={{ gap: 16 }}>
      <Card>
        <Text accessibilityRole="header" style={styles.heading}>
          {B.automaticTitle}
        </Text>
        <View style={styles.row}>
          <Text style={styles.label}>{B.automaticLabel}</Text>
          <Switch
            accessibilityLabel={B.automaticLabel}
            value={m.isBackupEnabled === true}
            disabled={m.isBackupEnabled === null || busy || notAllowed !== null}
            onValueChange={(v) => void toggle(v)}
          />
        </View>
        <Text style={styles.muted}>{notAllowed?.title ?? B.automaticDescription}</Text>
        <Outcome notice={autoNotice} failure={autoFailure} />
      </Card>

      <Card>
        <Text accessibilityRole="header" style={styles.heading}>
          {B.nowTitle}
        </Text>
        <Text style={styles.muted}>{B.nowDescription}</Text>
        {notAllowed ? (
          <Notice tone="warn" title={notAllowed.title}>
            {notAllowed.next}
          </Notice>
        ) : null}
        <Button
          label={m.activity === 'backup' ? B.backingUp : B.nowTitle}
          onPress={() => void backUpNow()}
          disabled={busy || notAllowed !== null}
        />
        {m.activity === 'backup' ? <ProgressBar {...(live ?? { label: B.starting })} /> : null}
        {m.activity === 'backup' ? cancel(B.cancelBackup) : null}
        <Outcome notice={backupNotice} failure={backupFailure} />
      </Card>

      <Card>
        <View style={styles.row}>
          <Text accessibilityRole="header" style={styles.heading}>
            {B.historyTitle}
          </Text>
          <Button
            label={B.refresh}
            onPress={() => void refresh()}
            disabled={busy}
            kind="secondary"
          />
        </View>
        {listError ? (
          <ErrorNotice
            error={listError}
            action={{ label: B.tryAgain, onPress: () => void refresh() }}
          />
        ) : backups === null ? (
          <Text style={styles.muted}>{B.loading}</Text>
        ) : backups.length === 0 ? (
          <Text style={styles.muted}>{B.empty}</Text>
        ) : (
          backups.map((b, i) => {
            const at = when(b.created_at);
            return (
              <View key={b.backup_version} style={styles.row} testID="backup-item">
                <View>
                  <Text>
                    {at}
                    {i === 0 ? ` · ${B.newest}` : ''}
                  </Text>
                  <Text style={styles.muted}>{formatBytes(b.backup_size)}</Text>
                </View>
                <Button
                  label={B.restore}
                  accessibilityLabel={B.restoreLabel(at)}
                  disabled={busy}
                  kind="secondary"
                  onPress={() => setPending({ op: 'restore', backup: b, newest: i === 0 })}
                />
                <Button
                  label={B.delete}
                  accessibilityLabel={B.deleteLabel(at)}
                  disabled={busy}
                  kind="danger"
                  onPress={() => setPending({ op: 'delete', backup: b, newest: i === 0 })}
                />
              </View>
            );
          })
        )}
        {pending ? (
          <Notice tone="warn" title={pending.op === 'restore' ? B.restoreTitle : B.deleteTitle}>
            <Text>
              {pending.op === 'restore'
                ? B.restoreBody(when(pending.backup.created_at))
                : B.deleteBody(when(pending.backup.created_at))}
            </Text>
            {pending.op === 'restore' && !pending.newest ? <Text>{B.notNewest}</Text> : null}
            {pending.doubt ? <Text>{pending.doubt}</Text> : null}
            <View style={styles.row}>
              <Button label={B.cancel} onPress={() => setPending(null)} kind="secondary" />
              <Button
                label={pending.op === 'restore' ? B.restore : B.delete}
                onPress={() => void confirm(pending)}
                kind={pending.op === 'restore' ? 'primary' : 'danger'}
              />
            </View>
          </Notice>
        ) : null}
        {m.activity === 'restore' ? (
          <ProgressBar {...(live ?? { label: B.startingRestore })} />
        ) : null}
        {m.activity === 'restore' ? cancel(B.cancelRestore) : null}
        <Outcome notice={historyNotice} failure={historyFailure} />
      </Card>
    </View>
  );
}
