/**
 * The backup status card (docs/REACT-NATIVE.md §6): what `statusCardView` says (shared
 * with the web app's card), the last verification, "Back up now" when a backup is due, a retry after a failure, live
 * progress while a backup or restore runs, and the way to the settings.
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { STATUS_CARD } from '@noah-backup/client/ui/status-view';
import type { Clock } from '@noah-backup/core/clock';
import { type AppStateLike, useBackupStatus } from '@noah-backup/react-native/hooks';
import { type ReactNode, useState } from 'react';
import { Text, View } from 'react-native';
import { Button, Card, ErrorNotice, Notice, ProgressBar, styles } from './components.tsx';

export interface StatusCardProps {
  manager: BackupManager;
  clock?: Clock;
  appState?: AppStateLike;
  onOpenSettings(): void;
}

export function StatusCard({ manager, clock, appState, onOpenSettings }: StatusCardProps) {
  const { view, verification, tone, badge, triggerBackup } = useBackupStatus(manager, {
    ...(clock ? { clock } : {}),
    ...(appState ? { appState } : {}),
  });
  const [error, setError] = useState<unknown>(null);
  const backUp = async () => {
    setError(null);
    try {
      await triggerBackup();
    } catch (err) {
      setError(err);
    }
  };
  const backUpButton = <Button label={STATUS_CARD.backUpNow} onPress={() => void backUp()} />;

  let body: ReactNode;
  switch (view.kind) {
    case 'busy':
      body = <ProgressBar {...view.progress} />;
      break;
    case 'not_allowed':
      body = (
        <>
          <Notice tone="warn" title={view.message.title}>
            {view.message.next}
          </Notice>
          {view.detail ? <Text style={styles.muted}>{view.detail}</Text> : null}
          <Button label={STATUS_CARD.backUpNow} onPress={() => {}} disabled />
        </>
      );
      break;
    case 'failed':
      body = (
        <>
          <Text style={styles.label}>{view.line}</Text>
          <ErrorNotice
            error={error ?? view.error}
            action={{ label: STATUS_CARD.retry, onPress: () => void backUp() }}
          />
        </>
      );
      break;
    case 'never':
    case 'stale':
      body = (
        <>
          <Text style={styles.label}>{view.line}</Text>
          {backUpButton}
        </>
      );
      break;
    default:
      body = (
        <>
          <Text style={styles.label}>{view.line}</Text>
          <Text style={styles.muted}>{view.detail}</Text>
        </>
      );
  }

  return (
    <Card tone={tone}>
      <View style={styles.row}>
        <Text accessibilityRole="header" style={styles.heading}>
          {STATUS_CARD.title}
        </Text>
        <Text style={styles.muted}>{badge}</Text>
      </View>
      <View accessibilityLiveRegion="polite">
        {body}
        {verification?.tone === 'ok' ? (
          <Text testID="verification" style={styles.muted}>
            {verification.text}
          </Text>
        ) : verification ? (
          <View testID="verification">
            <Notice tone="warn" title={verification.message.title}>
              {verification.message.next}
            </Notice>
          </View>
        ) : null}
      </View>
      {error && view.kind !== 'failed' ? <ErrorNotice error={error} /> : null}
      <Button label={STATUS_CARD.openSettings} onPress={onOpenSettings} kind="secondary" />
    </Card>
  );
}
