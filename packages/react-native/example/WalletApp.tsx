/**
 * The example's screens around one device: the way to create or restore a wallet, then
 * its backup screens (the onboarding step that turns on automatic backups, the status
 * card, the backup settings) and the on-device self-test (docs/REACT-NATIVE.md §6). The
 * native modules come in as props (App.tsx passes the real ones).
 */
import type { Clock } from '@noah-backup/core/clock';
import type { AppStateLike } from '@noah-backup/react-native/hooks';
import { useEffect, useState } from 'react';
import { ScrollView } from 'react-native';
import type { BackupServices } from './backup.ts';
import { BackupSettings } from './screens/BackupSettings.tsx';
import { Button, ErrorNotice, ProgressBar } from './screens/components.tsx';
import { EnableBackupsStep } from './screens/EnableBackupsStep.tsx';
import { SelfTest } from './screens/SelfTest.tsx';
import { StatusCard } from './screens/StatusCard.tsx';
import { WalletSetup } from './screens/WalletSetup.tsx';
import type { SecureStoreModule } from './wallet-services.ts';

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

export interface WalletAppProps {
  secureStore: SecureStoreModule;
  /** The wallet's services (null: no wallet here); `again` after a wallet was set up. */
  open(again: boolean): Promise<BackupServices | null>;
  appState?: AppStateLike;
  clock?: Clock;
}

type Phase =
  | { kind: 'opening' }
  | { kind: 'no-wallet' }
  | { kind: 'restoring'; services: BackupServices }
  | { kind: 'restore-failed'; services: BackupServices; error: unknown }
  | { kind: 'open'; services: BackupServices; onboarding: boolean; restored: boolean }
  | { kind: 'failed'; error: unknown };

/**
 * The app around one device: a wallet's backup screens once its services open, else
 * the way to create or restore one. A restore runs before the screens show: until it
 * has, the push tasks skip (`not_restored`), so an empty wallet never replaces the
 * backups (docs/REACT-NATIVE.md §6 step 6).
 */
export function WalletApp({ secureStore, open, appState, clock }: WalletAppProps) {
  const [phase, setPhase] = useState<Phase>({ kind: 'opening' });
  const restore = (services: BackupServices) => {
    setPhase({ kind: 'restoring', services });
    services.manager.restoreBackup().then(
      () => setPhase({ kind: 'open', services, onboarding: true, restored: true }),
      (error: unknown) => setPhase({ kind: 'restore-failed', services, error }),
    );
  };
  const opened = (next: (s: BackupServices) => void) => (s: BackupServices | null) =>
    s === null ? setPhase({ kind: 'no-wallet' }) : next(s);
  const failed = (error: unknown) => setPhase({ kind: 'failed', error });
  useEffect(() => {
    open(false).then(
      (services) =>
        setPhase(
          services === null
            ? { kind: 'no-wallet' }
            : { kind: 'open', services, onboarding: false, restored: false },
        ),
      (error: unknown) => setPhase({ kind: 'failed', error }),
    );
  }, [open]);
  const time = clock ? { clock } : {};
  switch (phase.kind) {
    case 'opening':
      return null;
    case 'failed':
      return <ErrorNotice error={phase.error} />;
    case 'no-wallet':
      return (
        <ScrollView contentContainerStyle={{ padding: 16, gap: 16 }}>
          <WalletSetup
            secureStore={secureStore}
            onCreated={() =>
              open(true).then(
                opened((services) =>
                  setPhase({ kind: 'open', services, onboarding: true, restored: false }),
                ),
                failed,
              )
            }
            onRestore={() => open(true).then(opened(restore), failed)}
          />
          <SelfTest />
        </ScrollView>
      );
    case 'restoring':
      return <ProgressBar label="Restoring your wallet from its backup" />;
    case 'restore-failed':
      return (
        <ErrorNotice
          error={phase.error}
          action={{ label: 'Retry the restore', onPress: () => restore(phase.services) }}
        />
      );
    case 'open':
      return (
        <BackupApp
          services={phase.services}
          onboarding={phase.onboarding}
          restored={phase.restored}
          {...(appState ? { appState } : {})}
          {...time}
        />
      );
  }
}
