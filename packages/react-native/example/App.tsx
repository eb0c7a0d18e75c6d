/**
 * The example app: the backup screens of a wallet (the onboarding step that turns on
 * automatic backups, the status card, the backup settings) once the wallet's services
 * are open, and the on-device self-test (docs/REACT-NATIVE.md).
 */
import type { Clock } from '@noah-backup/core/clock';
import type { AppStateLike } from '@noah-backup/react-native/hooks';
import { useEffect, useState } from 'react';
import { AppState, SafeAreaView, ScrollView, Text } from 'react-native';
import { type BackupServices, openBackup } from './backup.ts';
import { BackupSettings } from './screens/BackupSettings.tsx';
import { Button, styles } from './screens/components.tsx';
import { EnableBackupsStep } from './screens/EnableBackupsStep.tsx';
import { SelfTest } from './screens/SelfTest.tsx';
import { StatusCard } from './screens/StatusCard.tsx';

type Screen = 'onboarding' | 'status' | 'settings' | 'self-test';

export interface BackupAppProps {
  services: BackupServices;
  /** Start with the onboarding step (a wallet just created or restored). */
  onboarding?: boolean;
  /** After a restore: the step says the wallet came back. */
  restored?: boolean;
  appState?: AppStateLike;
  clock?: Clock;
}

/** The backup screens around one wallet's services. */
export function BackupApp({ services, onboarding, restored, appState, clock }: BackupAppProps) {
  const [screen, setScreen] = useState<Screen>(onboarding ? 'onboarding' : 'status');
  const { manager } = services;
  const time = clock ?? services.clock;
  return (
    <ScrollView contentContainerStyle={{ padding: 16, gap: 16 }}>
      {screen === 'onboarding' ? (
        <EnableBackupsStep
          manager={manager}
          {...(time ? { clock: time } : {})}
          restored={restored === true}
          done={() => setScreen('status')}
        />
      ) : screen === 'settings' ? (
        <>
          <BackupSettings manager={manager} {...(time ? { clock: time } : {})} />
          <Button label="Back" onPress={() => setScreen('status')} kind="secondary" />
        </>
      ) : screen === 'self-test' ? (
        <>
          <SelfTest />
          <Button label="Back" onPress={() => setScreen('status')} kind="secondary" />
        </>
      ) : (
        <>
          <StatusCard
            manager={manager}
            {...(time ? { clock: time } : {})}
            {...(appState ? { appState } : {})}
            onOpenSettings={() => setScreen('settings')}
          />
          <Button label="Self-test" onPress={() => setScreen('self-test')} kind="secondary" />
        </>
      )}
    </ScrollView>
  );
}

export default function App() {
  const [services, setServices] = useState<BackupServices | null | undefined>(undefined);
  useEffect(() => {
    openBackup().then(setServices, () => setServices(null));
  }, []);
  if (services === undefined) return null;
  if (services === null)
    return (
      <SafeAreaView style={{ flex: 1 }}>
        <Text style={[styles.muted, { padding: 16 }]}>No wallet on this device yet.</Text>
        <SelfTest />
      </SafeAreaView>
    );
  return (
    <SafeAreaView style={{ flex: 1 }}>
      <BackupApp services={services} appState={AppState} />
    </SafeAreaView>
  );
}
