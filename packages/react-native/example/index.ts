// The SDK's setup first: core's CSPRNG (crypto.getRandomValues) before anything uses it.
import '@noah-backup/react-native/setup';
import {
  defineBackupTriggerTasks,
  registerBackupTriggerTask,
} from '@noah-backup/react-native/push';
import { registerRootComponent } from 'expo';
import * as BackgroundTask from 'expo-background-task';
import * as Notifications from 'expo-notifications';
import * as TaskManager from 'expo-task-manager';
import App from './App';
// The SDK's ports (wallet data on op-sqlite, spooler, state, transfers) in the bundle.
import '@noah-backup/react-native/ports';
import { openBackup } from './backup.ts';

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
