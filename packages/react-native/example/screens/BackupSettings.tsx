/**
 * Backup settings (the web app's screen, in its words): the automatic-backup switch
 * (turning it on makes the first backup when one is due), "Back up now" with progress
 * and a cancel, the backups on the server with restore and delete, each after a
 * confirmation. Each section says what happened to its own action (docs/REACT-NATIVE.md §6).
 * What each action does and says is the shared flow (`ui/backup-settings-flow.ts`).
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { useBackupSettingsFlow } from '@noah-backup/client/react';
import type { CardOutcome } from '@noah-backup/client/ui/backup-settings-flow';
import { BACKUP_SETTINGS as B } from '@noah-backup/client/ui/copy';
import { formatBytes } from '@noah-backup/client/ui/format';
import { backupsNotAllowed } from '@noah-backup/client/ui/messages';
import { progressView } from '@noah-backup/client/ui/progress';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { useBackupManager } from '@noah-backup/react-native/hooks';
import { Switch, Text, View } from 'react-native';
import { Button, Card, ErrorNotice, Notice, ProgressBar, styles } from './components.tsx';

function Outcome({ notice, failure }: CardOutcome) {
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
  const [flow, s] = useBackupSettingsFlow(manager, clock ?? systemClock);
  const { backups, listError, pending } = s;
  const when = flow.when;
  const busy = m.activity !== null;
  const notAllowed =
    m.backupsAllowed === false ? backupsNotAllowed(m.backupsNotAllowedReason) : null;

  const live = m.progress ? progressView(m.progress) : null;
  const cancel = (label: string) =>
    s.cancellable && busy ? <Button label={label} onPress={flow.cancel} kind="secondary" /> : null;

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
            onValueChange={(v) => void flow.toggle(v)}
          />
        </View>
        <Text style={styles.muted}>{notAllowed?.title ?? B.automaticDescription}</Text>
        <Outcome {...s.auto} />
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
          onPress={() => void flow.backUpNow()}
          disabled={busy || notAllowed !== null}
        />
        {m.activity === 'backup' ? <ProgressBar {...(live ?? { label: B.starting })} /> : null}
        {m.activity === 'backup' ? cancel(B.cancelBackup) : null}
        {s.done ? <Notice tone="ok">{s.done.label}</Notice> : null}
        <Outcome {...s.now} />
      </Card>

      <Card>
        <View style={styles.row}>
          <Text accessibilityRole="header" style={styles.heading}>
            {B.historyTitle}
          </Text>
          <Button
            label={B.refresh}
            onPress={() => void flow.refresh()}
            disabled={busy}
            kind="secondary"
          />
        </View>
        {listError ? (
          <ErrorNotice
            error={listError}
            action={{ label: B.tryAgain, onPress: () => void flow.refresh() }}
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
                  onPress={() => flow.ask('restore', b, i === 0)}
                />
                <Button
                  label={B.delete}
                  accessibilityLabel={B.deleteLabel(at)}
                  disabled={busy}
                  kind="danger"
                  onPress={() => flow.ask('delete', b, i === 0)}
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
              <Button label={B.cancel} onPress={flow.dismiss} kind="secondary" />
              <Button
                label={pending.op === 'restore' ? B.restore : B.delete}
                onPress={() => void flow.confirm()}
                kind={pending.op === 'restore' ? 'primary' : 'danger'}
              />
            </View>
          </Notice>
        ) : null}
        {m.activity === 'restore' ? (
          <ProgressBar {...(live ?? { label: B.startingRestore })} />
        ) : null}
        {m.activity === 'restore' ? cancel(B.cancelRestore) : null}
        <Outcome {...s.history} />
      </Card>
    </View>
  );
}
