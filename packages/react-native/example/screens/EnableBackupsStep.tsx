/**
 * The onboarding step that turns on automatic backups, after a wallet is created or
 * restored (the web app's `EnableBackupsStep`, in its words): saying yes turns them on
 * and makes the first backup at once when one is due, with its progress; a failure of
 * that backup leaves them on, says so, and offers a retry. "Not now" turns them off
 * (docs/REACT-NATIVE.md §6). What it does is the shared flow (`ui/enable-backups-flow.ts`).
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { useEnableBackupsFlow } from '@noah-backup/client/react';
import { ENABLE_BACKUPS } from '@noah-backup/client/ui/copy';
import { enableBackupsActions } from '@noah-backup/client/ui/enable-backups-flow';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { Text, View } from 'react-native';
import { Button, Card, ErrorNotice, ProgressBar, styles } from './components.tsx';

export interface EnableBackupsStepProps {
  manager: BackupManager;
  clock?: Clock;
  /** After a restore: the wallet just came back from a backup. */
  restored?: boolean;
  /** Leaves the step (backups on, or not). */
  done(): void;
}

export function EnableBackupsStep({ manager, clock, restored, done }: EnableBackupsStepProps) {
  const [flow, { busy, on, progress, error }] = useEnableBackupsFlow(
    enableBackupsActions(manager, () => (clock ?? systemClock).now(), done),
  );
  const { run, notNow } = flow;
  return (
    <Card>
      <Text accessibilityRole="header" style={styles.title}>
        {ENABLE_BACKUPS.title}
      </Text>
      {restored ? <Text>{ENABLE_BACKUPS.restored}</Text> : null}
      {ENABLE_BACKUPS.points.map((point) => (
        <Text key={point}>• {point}</Text>
      ))}
      {progress ? <ProgressBar {...progress} /> : null}
      {on && error ? <Text accessibilityRole="summary">{ENABLE_BACKUPS.onButFailed}</Text> : null}
      {error ? <ErrorNotice error={error} /> : null}
      <View style={styles.row}>
        {on ? (
          <>
            <Button
              label={ENABLE_BACKUPS.continue}
              onPress={done}
              disabled={busy}
              kind="secondary"
            />
            <Button label={ENABLE_BACKUPS.tryAgain} onPress={() => void run()} disabled={busy} />
          </>
        ) : (
          <>
            <Button
              label={ENABLE_BACKUPS.notNow}
              onPress={() => void notNow()}
              disabled={busy}
              kind="secondary"
            />
            <Button label={ENABLE_BACKUPS.turnOn} onPress={() => void run()} disabled={busy} />
          </>
        )}
      </View>
    </Card>
  );
}
