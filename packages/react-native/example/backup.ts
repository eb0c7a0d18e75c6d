/**
 * The example's backup services: the wallet's BackupManager and its push handler, opened
 * once per process, for the screens and for the push tasks alike (the OS may start the
 * app for a push, without its UI). How they are opened is the app's: it reads the
 * seedphrase from the platform's secure storage, builds the ports (wallet data, spooler,
 * device state) and the manager, and registers that with `setBackupOpener` at start-up,
 * before any task runs (docs/REACT-NATIVE.md §6): `index.ts` registers
 * `openWalletServices` (wallet-services.ts). While the opener answers null there is no
 * wallet on this device and the app offers to create or restore one.
 */
import type { BackupManager } from '@noah-backup/client/manager';
import type { DeviceStateStore } from '@noah-backup/client/ports';
import type { Clock } from '@noah-backup/core/clock';
import {
  type BackgroundTaskModule,
  type BackupTriggerHandler,
  createExpoBackupTriggerHandler,
} from '@noah-backup/react-native/push';

/** What the screens and the push tasks need. */
export interface BackupServices {
  manager: BackupManager;
  handler: BackupTriggerHandler;
  clock?: Clock;
}

type Opener = () => Promise<BackupServices | null>;

let opener: Opener = async () => null;
let opened: Promise<BackupServices | null> | null = null;

/** Registers how the wallet's services are opened (null: no wallet on this device). */
export function setBackupOpener(open: Opener): void {
  opener = open;
  opened = null;
}

/** The services, opened on first use; a failure is retried on the next call. */
export function openBackup(): Promise<BackupServices | null> {
  opened ??= opener().catch((err: unknown) => {
    opened = null;
    throw err;
  });
  return opened;
}

/** Opens the services again: after a wallet was created or its seedphrase typed. */
export function reopenBackup(): Promise<BackupServices | null> {
  opened = null;
  return openBackup();
}

/**
 * The services around a manager: the Expo push handler with the platform's budget.
 *
 * @param o - the manager and its state store, `Platform.OS`, expo-background-task, and
 *   whether the app is in the foreground (`AppState`)
 */
export function backupServices(o: {
  manager: BackupManager;
  state: DeviceStateStore;
  platform: string;
  BackgroundTask: BackgroundTaskModule;
  isForeground(): boolean;
  clock?: Clock;
}): BackupServices {
  return {
    manager: o.manager,
    handler: createExpoBackupTriggerHandler({
      manager: o.manager,
      state: o.state,
      platform: o.platform,
      BackgroundTask: o.BackgroundTask,
      isForeground: o.isForeground,
    }),
    ...(o.clock ? { clock: o.clock } : {}),
  };
}
