// The SDK's setup first: core's CSPRNG (crypto.getRandomValues) before anything uses it.
import '@noah-backup/react-native/setup';
import {
  defineBackupTriggerTasks,
  registerBackupTriggerTask,
} from '@noah-backup/react-native/push';
import { open } from '@op-engineering/op-sqlite';
import { registerRootComponent } from 'expo';
import * as BackgroundTask from 'expo-background-task';
import Constants from 'expo-constants';
import * as FileSystem from 'expo-file-system';
import * as Notifications from 'expo-notifications';
import * as SecureStore from 'expo-secure-store';
import * as TaskManager from 'expo-task-manager';
import { AppState, Platform } from 'react-native';
import App from './App';
import { openBackup, setBackupOpener } from './backup.ts';
import { openWalletServices } from './wallet-services.ts';

// How the wallet's services open, registered before anything (a screen or a push task)
// asks for them (docs/REACT-NATIVE.md §6 step 2, §8.1).
const serverUrl = Constants.expoConfig?.extra?.serverUrl;
if (typeof serverUrl !== 'string') throw new Error('app.json: expo.extra.serverUrl is not set');
setBackupOpener(() =>
  openWalletServices<FileSystem.File>({
    open,
    FileSystem,
    Paths: FileSystem.Paths,
    SecureStore,
    serverUrl,
    platform: Platform.OS,
    BackgroundTask,
    isForeground: () => AppState.currentState === 'active',
    fetch: (url, init) => fetch(url, init as RequestInit),
  }),
);

// At module scope: the OS may start the app for a push or the hand-off task, without
// its UI, and the tasks must exist by then (docs/PUSH.md §3.1).
defineBackupTriggerTasks({
  TaskManager,
  Notifications,
  BackgroundTask,
  handler: async () => (await openBackup())?.handler ?? null,
});
void registerBackupTriggerTask(Notifications).catch(() => {
  // Not available (Expo Go, a simulator without push): the app still runs.
});

registerRootComponent(App);
